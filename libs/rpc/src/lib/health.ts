// grpc.health.v1 whose status follows real state: the server marks each
// service SERVING once bound, the app may flip a service (a replica catching
// up is NOT_SERVING), and draining marks everything NOT_SERVING before the
// listener closes. Watch streams get every change and end when draining.
import { healthV1 } from '@bulwark/contracts';
import { NotFoundError, ResourceExhaustedError } from '@bulwark/errors';
import type { ServerWritableStream } from '@grpc/grpc-js';
import { untilCallEnds } from './call-end';
import type { HandlerKit } from './handlers';

const { HealthCheckResponse_ServingStatus: ServingStatus } = healthV1;
export type ServingStatus = healthV1.HealthCheckResponse_ServingStatus;
export { ServingStatus };

type Watcher = ServerWritableStream<healthV1.HealthCheckRequest, healthV1.HealthCheckResponse>;

/** The overall status is registered under the empty service name, as the protocol says. */
export const overallService = '';

/** Bound on concurrent Watch streams, so a misbehaving prober cannot exhaust memory. */
export const healthWatchersMax = 1024;

export class HealthRegistry {
  private readonly statuses = new Map<string, ServingStatus>();
  private readonly watchers = new Map<Watcher, string>();

  set(service: string, status: ServingStatus): void {
    if (this.statuses.get(service) === status) return;
    this.statuses.set(service, status);
    for (const [watcher, watched] of this.watchers) {
      if (watched === service) watcher.write({ status });
    }
  }

  /** Sets every known service, the overall status included. */
  setAll(status: ServingStatus): void {
    for (const service of [...this.statuses.keys()]) this.set(service, status);
  }

  get(service: string): ServingStatus | undefined {
    return this.statuses.get(service);
  }

  implementation(kit: HandlerKit): healthV1.HealthServer {
    return {
      check: kit.unary((request) => {
        const status = this.statuses.get(request.service);
        if (status === undefined) throw new NotFoundError('service', `unknown service "${request.service}"`);
        return { status };
      }),
      // A watch ends when the client cancels or, cleanly (OK), when the server drains.
      watch: kit.serverStream(async (request, call, { shutdown }) => {
        if (this.watchers.size >= healthWatchersMax) {
          throw new ResourceExhaustedError('healthWatchersMax', `at most ${healthWatchersMax} health watches`);
        }
        this.watchers.set(call, request.service);
        try {
          call.write({ status: this.statuses.get(request.service) ?? ServingStatus.SERVICE_UNKNOWN });
          await untilCallEnds(call, shutdown);
        } finally {
          this.watchers.delete(call);
        }
      }),
    };
  }
}
