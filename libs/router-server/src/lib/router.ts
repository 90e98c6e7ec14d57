// One router process: the topology watch, the routing view built on it, the
// replica connections and read balancers, and kv.v1.KV over them. Nothing
// is stored: routers are interchangeable and any of them serves any key.
import { TopologyWatcher } from '@bulwark/coordinator-client';
import type { KvLimits } from '@bulwark/kv-state';
import type { Logger } from '@bulwark/logging';
import { Xoshiro128StarStar } from '@bulwark/random';
import { ServingStatus, type HandlerKit, type RunningServer, type ServiceBinding } from '@bulwark/rpc';
import { KvRouter } from './kv-router';
import { kvService } from './kv-service';
import { ReadTargets, type ReadBalancerPolicy } from './read-targets';
import { ReplicaPool } from './replica-pool';
import { RoutingView } from './routing-view';

/** The largest request a router accepts (a BatchPut, a Txn); larger is RESOURCE_EXHAUSTED from gRPC. */
export const routerReceiveBytesMax = 64 * 1024 * 1024;

export interface RouterOptions {
  readonly memberId: string;
  /** host:port of every coordinator. */
  readonly coordinators: readonly string[];
  readonly logger: Logger;
  readonly limits: KvLimits;
  readonly readBalancer: ReadBalancerPolicy;
  /** Deadline of a call whose caller set none, ms. */
  readonly requestTimeoutMs: number;
  /** Operations waiting for a slot on one replica's stream before more are refused. */
  readonly queuedPerReplicaMax: number;
}

export class Router {
  private readonly watcher: TopologyWatcher;
  private readonly view: RoutingView;
  private readonly pool: ReplicaPool;
  readonly kv: KvRouter;
  private readonly stopRetaining: () => void;

  constructor(private readonly options: RouterOptions) {
    const { logger } = options;
    this.watcher = new TopologyWatcher({ coordinators: options.coordinators, logger });
    this.view = new RoutingView(this.watcher);
    this.pool = new ReplicaPool({ logger, queuedPerReplicaMax: options.queuedPerReplicaMax });
    const reads = new ReadTargets({
      policy: options.readBalancer,
      random: new Xoshiro128StarStar(Math.floor(Math.random() * 2 ** 53)),
      serving: (memberId) => this.pool.serving(memberId),
      nowMs: () => performance.now(),
    });
    this.kv = new KvRouter({
      memberId: options.memberId,
      view: this.view,
      pool: this.pool,
      reads,
      limits: options.limits,
      logger,
    });
    // Connections and balancers of members and groups that left the topology are let go.
    this.stopRetaining = this.view.onRoutingChange((table) => {
      const members = table.memberIds();
      this.pool.retain(members);
      reads.retain(table.groupIds(), members);
    });
  }

  services(kit: HandlerKit): ServiceBinding[] {
    return [kvService(kit, this.kv, { requestTimeoutMs: this.options.requestTimeoutMs })];
  }

  /**
   * Follows the topology. The router is NOT_SERVING until it has one: before
   * that it could only make callers wait (health probes and the launcher
   * see it ready when it can route).
   */
  start(server: RunningServer): void {
    if (!this.view.current()) {
      server.health.setAll(ServingStatus.NOT_SERVING);
      const stop = this.view.onRoutingChange(() => {
        stop();
        server.health.setAll(ServingStatus.SERVING);
      });
    }
    this.watcher.start();
  }

  stop(): void {
    this.stopRetaining();
    this.kv.close();
    this.view.close();
    this.watcher.close();
    this.pool.close();
  }
}
