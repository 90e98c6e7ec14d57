// The router's connections to replicas: per member one channel, one Operate
// stream on it for every single-key operation (reopened after a failure),
// unary Scan beside it, and a grpc.health.v1 Watch that says whether the
// member is SERVING (a backup catching up is NOT_SERVING, and balanced
// reads skip it). Members that leave the topology are closed.
import { Metadata, type ClientReadableStream } from '@grpc/grpc-js';
import { ROOT_CONTEXT, context } from '@opentelemetry/api';
import { healthV1, shardV1 } from '@bulwark/contracts';
import { UnavailableError } from '@bulwark/errors';
import type { Logger } from '@bulwark/logging';
import { callUnary, createClient, overallService } from '@bulwark/rpc';
import { OperateStream, type OperationAnswer, type OperationRequest } from './operate-stream';

const { HealthCheckResponse_ServingStatus: ServingStatus } = healthV1;

/** What the router accepts in one replica message; a scan page above it fails (ask for a smaller limit). */
export const replicaReceiveBytesMax = 64 * 1024 * 1024;
const channelOptions = {
  'grpc.initial_reconnect_backoff_ms': 20,
  'grpc.max_reconnect_backoff_ms': 500,
  'grpc.max_receive_message_length': replicaReceiveBytesMax,
};
const healthRewatchMs = { initial: 50, max: 1_000 };

export interface ReplicaPoolOptions {
  readonly logger: Logger;
  /** Operations waiting for a slot on one replica's stream before more are refused. */
  readonly queuedPerReplicaMax?: number;
}

/** What the router sends to one replica. */
export interface ReplicaChannel {
  submit(request: OperationRequest, timeoutMs: number): Promise<OperationAnswer>;
  scan(request: shardV1.ScanRequest, timeoutMs: number): Promise<shardV1.ScanResponse>;
}

/** The router's replicas: a channel per member, and whether each is SERVING. */
export interface ReplicaChannels {
  connection(memberId: string, address: string): ReplicaChannel;
  serving(memberId: string): boolean;
}

export class ReplicaConnection implements ReplicaChannel {
  private readonly shard: shardV1.ShardClient;
  private readonly health: healthV1.HealthClient;
  private stream: OperateStream | undefined;
  private healthWatch: ClientReadableStream<healthV1.HealthCheckResponse> | undefined;
  private healthTimer: NodeJS.Timeout | undefined;
  private healthBackoffMs = healthRewatchMs.initial;
  private closed = false;
  /** From the health watch: false while the member is unreachable or NOT_SERVING. */
  serving = true;

  constructor(
    readonly memberId: string,
    readonly address: string,
    private readonly options: ReplicaPoolOptions,
  ) {
    this.shard = createClient(shardV1.ShardClient, address, channelOptions);
    this.health = createClient(healthV1.HealthClient, address, channelOptions);
    this.watchHealth();
  }

  submit(request: OperationRequest, timeoutMs: number): Promise<OperationAnswer> {
    if (this.closed) return Promise.reject(new UnavailableError(`the connection to ${this.memberId} is closed`));
    if (!this.stream?.usable) {
      // Opened outside the caller's trace: the stream outlives it and carries many (each operation has its own span).
      const call = context.with(ROOT_CONTEXT, () => this.shard.operate(new Metadata()));
      this.stream = new OperateStream(call, {
        queuedMax: this.options.queuedPerReplicaMax,
        replica: { memberId: this.memberId, address: this.address },
      });
    }
    return this.stream.submit(request, timeoutMs);
  }

  scan(request: shardV1.ScanRequest, timeoutMs: number): Promise<shardV1.ScanResponse> {
    return callUnary(this.shard, this.shard.scan, request, { deadlineMs: Math.max(1, timeoutMs) });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.healthTimer);
    this.healthWatch?.cancel();
    this.stream?.close();
    this.shard.close();
    this.health.close();
  }

  private watchHealth(): void {
    if (this.closed) return;
    const watch = this.health.watch({ service: overallService });
    this.healthWatch = watch;
    watch.on('data', (response: healthV1.HealthCheckResponse) => {
      this.healthBackoffMs = healthRewatchMs.initial;
      this.serving = response.status === ServingStatus.SERVING;
    });
    watch.on('error', () => undefined);
    watch.on('status', () => {
      if (this.healthWatch !== watch || this.closed) return;
      this.serving = false;
      this.healthTimer = setTimeout(() => this.watchHealth(), this.healthBackoffMs);
      this.healthBackoffMs = Math.min(this.healthBackoffMs * 2, healthRewatchMs.max);
    });
  }
}

export class ReplicaPool implements ReplicaChannels {
  private readonly connections = new Map<string, ReplicaConnection>();

  constructor(private readonly options: ReplicaPoolOptions) {}

  /** The connection to memberId at address, opened on first use (and again when the member moved). */
  connection(memberId: string, address: string): ReplicaConnection {
    const existing = this.connections.get(memberId);
    if (existing?.address === address) return existing;
    existing?.close();
    const connection = new ReplicaConnection(memberId, address, this.options);
    this.connections.set(memberId, connection);
    return connection;
  }

  /** Whether memberId is believed SERVING; a member not connected yet counts as serving. */
  serving(memberId: string): boolean {
    return this.connections.get(memberId)?.serving ?? true;
  }

  /** Closes the connections of members not in keep. */
  retain(keep: ReadonlySet<string>): void {
    for (const [memberId, connection] of this.connections) {
      if (keep.has(memberId)) continue;
      connection.close();
      this.connections.delete(memberId);
      this.options.logger.debug({ member: memberId }, 'closed the connection to a member that left the topology');
    }
  }

  close(): void {
    for (const connection of this.connections.values()) connection.close();
    this.connections.clear();
  }
}
