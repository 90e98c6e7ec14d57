// Follows one member over grpc.health.v1. A Check every intervalMs is the
// heartbeat the phi-accrual detector needs: a member whose process is
// paused keeps its connections open and simply stops answering, which only
// missing heartbeats reveal. A Watch stream beside it hears at once what
// the member says about itself (NOT_SERVING while it drains or catches up)
// and, when the stream breaks (the process died), triggers a Check at once
// instead of at the next interval; so does the channel's reconnecting to a
// member that was gone, so its return is heard at once too. Watch is
// optional: a member that does not serve it is followed by Check alone.
//
// What a probe means:
// - SERVING: a heartbeat;
// - UNAVAILABLE (nothing listens there, the connection was reset) or an
//   answer NOT_SERVING: a refusal;
// - anything else (no answer within the deadline, any other error status,
//   which a loaded but living process may send): silence, judged by phi.
import { connectivityState, type ClientReadableStream, type ServiceError } from '@grpc/grpc-js';
import { healthV1 } from '@bulwark/contracts';
import { UnavailableError, UnimplementedError, type BulwarkError } from '@bulwark/errors';
import { callUnary, createClient, fromServiceError } from '@bulwark/rpc';

const { HealthCheckResponse_ServingStatus: ServingStatus } = healthV1;

export interface ProberOptions {
  readonly address: string;
  /** Between heartbeats. */
  readonly intervalMs: number;
  /** Longest a Check may take; a later answer is silence. */
  readonly deadlineMs: number;
  readonly onHeartbeat: () => void;
  readonly onRefused: (reason: string) => void;
}

/** A broken Watch is opened again after this, doubling up to watchBackoffMsMax. */
const watchBackoffMsMin = 250;
const watchBackoffMsMax = 2_000;

/**
 * A restarted member is heard within about a probe interval, not after
 * grpc-js's default backoff of up to 120 s: the end of an outage is dated by
 * the first heartbeat after it, so a late reconnect would lengthen it.
 */
const channelOptions = {
  'grpc.initial_reconnect_backoff_ms': 20,
  'grpc.max_reconnect_backoff_ms': 100,
};

export class MemberProber {
  private readonly client: healthV1.HealthClient;
  private checkTimer: NodeJS.Timeout | undefined;
  private watchTimer: NodeJS.Timeout | undefined;
  private watch: ClientReadableStream<healthV1.HealthCheckResponse> | undefined;
  private watchBackoffMs = watchBackoffMsMin;
  private watchServed = true;
  private checking = false;
  private stopped = false;

  constructor(private readonly options: ProberOptions) {
    this.client = createClient(healthV1.HealthClient, options.address, channelOptions);
  }

  get address(): string {
    return this.options.address;
  }

  start(): void {
    this.checkTimer = setInterval(() => this.check(), this.options.intervalMs);
    this.check();
    this.openWatch();
    this.followChannel();
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.checkTimer);
    clearTimeout(this.watchTimer);
    this.watch?.cancel();
    this.client.close();
  }

  /** One Check, unless one is still in flight (a paused member is not asked twice). */
  check(): void {
    if (this.checking || this.stopped) return;
    this.checking = true;
    callUnary(this.client, this.client.check, { service: '' }, { deadlineMs: this.options.deadlineMs })
      .then(
        ({ status }) => this.heard(status),
        (error: BulwarkError) => this.failed(error),
      )
      .finally(() => {
        this.checking = false;
      });
  }

  private heard(status: healthV1.HealthCheckResponse_ServingStatus): void {
    if (this.stopped) return;
    if (status === ServingStatus.SERVING) this.options.onHeartbeat();
    else this.options.onRefused(healthV1.healthCheckResponse_ServingStatusToJSON(status));
  }

  private failed(error: BulwarkError): void {
    if (this.stopped || !(error instanceof UnavailableError)) return;
    this.options.onRefused(error.message);
  }

  /** Checks as soon as the channel connects again. */
  private followChannel(): void {
    const channel = this.client.getChannel();
    const state = channel.getConnectivityState(false);
    channel.watchConnectivityState(state, Infinity, () => {
      if (this.stopped) return;
      if (channel.getConnectivityState(false) === connectivityState.READY) this.check();
      this.followChannel();
    });
  }

  private openWatch(): void {
    if (this.stopped || !this.watchServed) return;
    const stream = this.client.watch({ service: '' });
    this.watch = stream;
    stream.on('data', (response: healthV1.HealthCheckResponse) => {
      this.watchBackoffMs = watchBackoffMsMin;
      if (response.status === ServingStatus.SERVING) this.check();
      else this.heard(response.status);
    });
    stream.on('error', (error: ServiceError) => {
      if (this.stopped || this.watch !== stream) return;
      if (fromServiceError(error) instanceof UnimplementedError) this.watchServed = false;
      this.rewatch();
    });
    stream.on('end', () => {
      if (!this.stopped && this.watch === stream) this.rewatch();
    });
  }

  /** The stream broke: ask at once whether the member is still there, and watch again later. */
  private rewatch(): void {
    this.watch = undefined;
    this.check();
    clearTimeout(this.watchTimer);
    this.watchTimer = setTimeout(() => this.openWatch(), this.watchBackoffMs);
    this.watchBackoffMs = Math.min(this.watchBackoffMs * 2, watchBackoffMsMax);
  }
}
