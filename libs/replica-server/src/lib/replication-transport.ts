// The replication protocol's transport. A primary keeps one long-lived
// Replicate stream to each backup (opened by the primary, named by its
// metadata) and writes the core's batches on it; the backup's answers come
// back on the same stream. A member receiving streams routes its answers to
// the stream of the primary they are for. Queues are bounded: past a bound
// the oldest messages are dropped, which the core tolerates (it resends
// from where each backup stands). Broken streams reconnect with a short
// capped backoff.
import { Metadata, type ClientDuplexStream, type ServerDuplexStream } from '@grpc/grpc-js';
import { replicationV1 } from '@bulwark/contracts';
import { FailedPreconditionError, InvalidArgumentError } from '@bulwark/errors';
import type { Logger } from '@bulwark/logging';
import type { ReplicationMessage } from '@bulwark/replication';
import { createClient, untilCallEnds, type HandlerKit } from '@bulwark/rpc';
import {
  decodeBackupMessage,
  decodePrimaryMessage,
  encodeBackupMessage,
  encodePrimaryMessage,
  groupHeader,
  isPrimaryMessage,
  requestBytesEstimate,
  senderHeader,
} from './replication-codec';
import type { ReplicationTraces } from './write-traces';

/** Requests queued for one backup while its stream is away or slow. */
export const backupQueueRequestsMax = 4_096;
/** Estimated bytes queued for one backup (batches are at most the core's batchBytesMax each). */
export const backupQueueBytesMax = 64 * 1024 * 1024;
/** Answers buffered on one inbound stream before more are dropped (the primary asks again). */
const answerBufferBytesMax = 8 * 1024 * 1024;
/** What a member accepts in one message: a batch of the core's batchBytesMax and its framing. */
export const replicationReceiveBytesMax = 8 * 1024 * 1024;
const reconnectBackoffMs = { initial: 20, max: 250 };
const channelOptions = {
  'grpc.initial_reconnect_backoff_ms': reconnectBackoffMs.initial,
  'grpc.max_reconnect_backoff_ms': reconnectBackoffMs.max,
  'grpc.max_receive_message_length': replicationReceiveBytesMax,
  'grpc.max_send_message_length': replicationReceiveBytesMax,
};

interface Queued {
  readonly request: replicationV1.ReplicateRequest;
  readonly bytes: number;
}

/** A primary's stream to one backup. */
class BackupLink {
  private client: replicationV1.ReplicationClient | undefined;
  private clientAddress: string | undefined;
  private stream: ClientDuplexStream<replicationV1.ReplicateRequest, replicationV1.ReplicateResponse> | undefined;
  private queue: Queued[] = [];
  private queuedBytes = 0;
  private backoffMs = reconnectBackoffMs.initial;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private waitingForDrain = false;
  private closed = false;
  dropped = 0;

  constructor(
    private readonly transport: ReplicationTransport,
    readonly backupId: string,
  ) {}

  enqueue(request: replicationV1.ReplicateRequest): void {
    const queued = { request, bytes: requestBytesEstimate(request) };
    this.queue.push(queued);
    this.queuedBytes += queued.bytes;
    while (
      this.queue.length > 1 &&
      (this.queue.length > backupQueueRequestsMax || this.queuedBytes > backupQueueBytesMax)
    ) {
      const oldest = this.queue.shift() as Queued;
      this.queuedBytes -= oldest.bytes;
      this.dropped++;
    }
  }

  flush(): void {
    if (this.closed || this.waitingForDrain || this.queue.length === 0) return;
    const stream = this.stream ?? this.connect();
    if (!stream) return;
    while (this.queue.length > 0) {
      const { request, bytes } = this.queue.shift() as Queued;
      this.queuedBytes -= bytes;
      if (!stream.write(request)) {
        this.waitingForDrain = true;
        stream.once('drain', () => {
          this.waitingForDrain = false;
          this.flush();
        });
        return;
      }
    }
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.reconnectTimer);
    this.stream?.cancel();
    this.client?.close();
  }

  private clientFor(address: string): replicationV1.ReplicationClient {
    if (!this.client || this.clientAddress !== address) {
      this.client?.close();
      this.client = createClient(replicationV1.ReplicationClient, address, channelOptions);
      this.clientAddress = address;
    }
    return this.client;
  }

  private connect(): ClientDuplexStream<replicationV1.ReplicateRequest, replicationV1.ReplicateResponse> | undefined {
    if (this.reconnectTimer) return undefined;
    const address = this.transport.addressOf(this.backupId);
    if (!address) {
      this.retryLater('address unknown');
      return undefined;
    }
    const metadata = new Metadata();
    metadata.set(senderHeader, this.transport.selfId);
    metadata.set(groupHeader, this.transport.groupId);
    const stream = this.clientFor(address).replicate(metadata);
    this.stream = stream;
    stream.on('data', (response: replicationV1.ReplicateResponse) => {
      this.backoffMs = reconnectBackoffMs.initial;
      const message = decodeBackupMessage(response, this.backupId, this.transport.selfId);
      if (message) this.transport.deliver(message);
    });
    const broken = (reason: string) => {
      if (this.stream !== stream) return;
      this.stream = undefined;
      this.waitingForDrain = false;
      if (!this.closed) this.retryLater(reason);
    };
    stream.on('error', (error: Error) => broken(error.message));
    stream.on('end', () => broken('ended'));
    return stream;
  }

  private retryLater(reason: string): void {
    this.transport.logger.debug({ backup: this.backupId, reason }, 'replication stream to backup is down; retrying');
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      this.flush();
    }, this.backoffMs);
    this.backoffMs = Math.min(this.backoffMs * 2, reconnectBackoffMs.max);
  }
}

type InboundStream = ServerDuplexStream<replicationV1.ReplicateRequest, replicationV1.ReplicateResponse>;

export class ReplicationTransport {
  private readonly links = new Map<string, BackupLink>();
  /** The newest Replicate stream from each primary that opened one to this member. */
  private readonly inbound = new Map<string, InboundStream>();
  private flushScheduled = false;

  constructor(
    readonly selfId: string,
    readonly groupId: string,
    /** Where a member serves (the coordinator's members table). */
    readonly addressOf: (memberId: string) => string | undefined,
    readonly logger: Logger,
    /** Hands a message to the core's runner. */
    readonly deliver: (message: ReplicationMessage) => void,
    /** Carries sampled writes' trace contexts to backups, and spans their batches there. */
    private readonly traces?: ReplicationTraces,
  ) {}

  send(messages: readonly ReplicationMessage[]): void {
    for (const message of messages) {
      if (isPrimaryMessage(message)) {
        const entryTraces =
          message.type === 'append' ? this.traces?.replicating(message.to, message.entries) : undefined;
        this.linkTo(message.to).enqueue(encodePrimaryMessage(message, this.groupId, entryTraces));
      } else {
        if (message.type === 'ack') this.traces?.acknowledging(message.to, message.durableSequence);
        this.answer(message.to, encodeBackupMessage(message));
      }
    }
    if (messages.length > 0 && !this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => {
        this.flushScheduled = false;
        for (const link of this.links.values()) link.flush();
      });
    }
  }

  /** Requests dropped for `backup` because its queue was full, for metrics and tests. */
  droppedFor(backup: string): number {
    return this.links.get(backup)?.dropped ?? 0;
  }

  close(): void {
    for (const link of this.links.values()) link.close();
    this.links.clear();
  }

  /** The Replicate handler: a primary's stream into this member. */
  replicateHandler(kit: HandlerKit) {
    return kit.bidiStream(async (call: InboundStream, { shutdown }) => {
      const from = String(call.metadata.get(senderHeader)[0] ?? '');
      const group = String(call.metadata.get(groupHeader)[0] ?? '');
      if (from === '') throw new InvalidArgumentError(senderHeader, 'the stream must name its sender');
      if (group !== this.groupId) {
        throw new FailedPreconditionError(groupHeader, `this member serves group '${this.groupId}', not '${group}'`);
      }
      this.inbound.set(from, call);
      try {
        await untilCallEnds(call, shutdown, (request: replicationV1.ReplicateRequest) => {
          const message = decodePrimaryMessage(request, from, this.selfId);
          if (message?.type === 'append' && request.body?.$case === 'append') {
            const last = message.entries.at(-1)?.sequence ?? message.prevSequence;
            this.traces?.received(from, last, request.body.append.entryTraces);
          }
          if (message) this.deliver(message);
          else this.logger.warn({ from }, 'dropped a malformed replication message');
        });
      } finally {
        if (this.inbound.get(from) === call) this.inbound.delete(from);
      }
    });
  }

  private linkTo(backupId: string): BackupLink {
    let link = this.links.get(backupId);
    if (!link) {
      link = new BackupLink(this, backupId);
      this.links.set(backupId, link);
    }
    return link;
  }

  private answer(primaryId: string, response: replicationV1.ReplicateResponse): void {
    const call = this.inbound.get(primaryId);
    if (!call || call.writableEnded || call.writableLength > answerBufferBytesMax) return;
    call.write(response);
  }
}
