// Paxos between coordinators runs on one long-lived Exchange stream to each
// peer, carrying batches: everything the runner sends to a peer in one event
// loop turn goes out as one ExchangeRequest (bounded in messages and bytes).
// Each queue is bounded; when a peer is slow or away the oldest messages are
// dropped, which Paxos tolerates (it retransmits what matters). A broken
// stream reconnects with a short capped backoff, and the channel's own
// reconnect backoff is as short, so a restarted peer is heard again within
// a few hundred milliseconds.
import { Metadata, type ClientDuplexStream, type ServerDuplexStream } from '@grpc/grpc-js';
import { paxosV1 } from '@bulwark/contracts';
import type { Logger } from '@bulwark/logging';
import type { Message } from '@bulwark/paxos';
import { createClient, untilCallEnds, type HandlerKit, type ServiceBinding } from '@bulwark/rpc';
import { decodePaxosMessage, encodePaxosMessage } from './paxos-codec';
import { SnapshotAssembler, toWireMessages } from './snapshot-chunks';

/** Messages queued per peer while its stream is away or slow. */
export const peerQueueMessagesMax = 10_000;
/** Estimated bytes queued per peer while its stream is away or slow (snapshot chunks and batches are up to 1 MiB). */
export const peerQueueBytesMax = 64 * 1024 * 1024;
/** Messages in one ExchangeRequest (the contract's bound). */
export const batchMessagesMax = 1_024;
/**
 * Estimated encoded bytes in one ExchangeRequest (a single larger message
 * goes alone). Snapshots travel in 1 MiB chunks and the core bounds Accept
 * and CatchUp messages to 1 MiB of commands, so with the per-entry and
 * per-message overhead a batch stays well within peerReceiveBytesMax.
 */
export const batchBytesMax = 4 * 1024 * 1024;
/** What a coordinator accepts in one message: a peer batch and its encoding overhead. */
export const peerReceiveBytesMax = 8 * 1024 * 1024;
const reconnectBackoffMs = { initial: 20, max: 250 };
/** grpc-js waits 1 s, growing to 120 s, before reconnecting a failed channel: far too long for a peer. */
const peerChannelOptions = {
  'grpc.initial_reconnect_backoff_ms': reconnectBackoffMs.initial,
  'grpc.max_reconnect_backoff_ms': reconnectBackoffMs.max,
  'grpc.max_receive_message_length': peerReceiveBytesMax,
};

/** Bytes of a message's encoding, estimated without encoding it: payload plus field overhead. */
export function encodedBytesEstimate(message: paxosV1.Message): number {
  const perMessage = 64;
  const perEntry = 24;
  const body = message.body;
  switch (body?.$case) {
    case 'accept':
      return perMessage + body.accept.entries.reduce((sum, entry) => sum + perEntry + entry.command.byteLength, 0);
    case 'catchUp':
      return perMessage + body.catchUp.entries.reduce((sum, entry) => sum + perEntry + entry.command.byteLength, 0);
    case 'promise':
      return (
        perMessage +
        body.promise.accepted.reduce((sum, entry) => sum + 2 * perEntry + (entry.entry?.command.byteLength ?? 0), 0)
      );
    case 'accepted':
      return perMessage + body.accepted.slots.length * 10;
    case 'installSnapshot':
      return perMessage + body.installSnapshot.data.byteLength;
    case 'snapshotChunk':
      return perMessage + body.snapshotChunk.data.byteLength;
    default:
      return perMessage;
  }
}

export interface PeerAddress {
  id: string;
  address: string;
}

interface Queued {
  readonly message: paxosV1.Message;
  /** encodedBytesEstimate, computed once at enqueue. */
  readonly bytes: number;
}

/** What is queued for a peer and what was dropped for it: for metrics and tests. */
export interface PeerBacklog {
  messages: number;
  bytes: number;
  dropped: number;
}

class PeerLink {
  private readonly client: paxosV1.PaxosClient;
  private stream: ClientDuplexStream<paxosV1.ExchangeRequest, paxosV1.ExchangeResponse> | undefined;
  private queue: Queued[] = [];
  private queuedBytes = 0;
  private batchId = 0n;
  private backoffMs = reconnectBackoffMs.initial;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private waitingForDrain = false;
  private closed = false;
  dropped = 0;

  constructor(
    readonly peer: PeerAddress,
    private readonly logger: Logger,
  ) {
    this.client = createClient(paxosV1.PaxosClient, peer.address, peerChannelOptions);
  }

  get backlog(): PeerBacklog {
    return { messages: this.queue.length, bytes: this.queuedBytes, dropped: this.dropped };
  }

  /** Queues a message; past either bound the oldest are dropped (Paxos resends what matters). */
  enqueue(message: paxosV1.Message): void {
    for (const wireMessage of toWireMessages(message)) {
      const queued = { message: wireMessage, bytes: encodedBytesEstimate(wireMessage) };
      this.queue.push(queued);
      this.queuedBytes += queued.bytes;
    }
    let drop = 0;
    let dropBytes = 0;
    while (
      this.queue.length - drop > 1 &&
      (this.queue.length - drop > peerQueueMessagesMax || this.queuedBytes - dropBytes > peerQueueBytesMax)
    ) {
      dropBytes += (this.queue[drop] as Queued).bytes;
      drop++;
    }
    if (drop > 0) {
      this.queue.splice(0, drop);
      this.queuedBytes -= dropBytes;
      this.dropped += drop;
    }
  }

  flush(): void {
    if (this.closed || this.waitingForDrain || this.queue.length === 0) return;
    const stream = this.stream ?? this.connect();
    if (!stream) return;
    while (this.queue.length > 0) {
      const messages = this.takeBatch();
      this.batchId++;
      if (!stream.write({ batchId: this.batchId, messages })) {
        this.waitingForDrain = true;
        stream.once('drain', () => {
          this.waitingForDrain = false;
          this.flush();
        });
        return;
      }
    }
  }

  /** The next batch: up to batchMessagesMax messages and about batchBytesMax bytes (one message at least). */
  private takeBatch(): paxosV1.Message[] {
    let count = 0;
    let bytes = 0;
    while (count < this.queue.length && count < batchMessagesMax) {
      const size = (this.queue[count] as Queued).bytes;
      if (count > 0 && bytes + size > batchBytesMax) break;
      bytes += size;
      count++;
    }
    this.queuedBytes -= bytes;
    return this.queue.splice(0, count).map((queued) => queued.message);
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.reconnectTimer);
    this.stream?.cancel();
    this.client.close();
  }

  private connect(): ClientDuplexStream<paxosV1.ExchangeRequest, paxosV1.ExchangeResponse> | undefined {
    if (this.reconnectTimer) return undefined;
    const stream = this.client.exchange(new Metadata());
    this.stream = stream;
    stream.on('data', () => {
      // Acks are flow control only; a working stream resets the backoff.
      this.backoffMs = reconnectBackoffMs.initial;
    });
    const broken = (reason: string) => {
      if (this.stream !== stream) return;
      this.stream = undefined;
      this.waitingForDrain = false;
      if (this.closed) return;
      this.logger.debug({ peer: this.peer.id, reason }, 'paxos stream to peer broke; reconnecting');
      this.reconnectTimer = setTimeout(() => {
        this.reconnectTimer = undefined;
        this.flush();
      }, this.backoffMs);
      this.backoffMs = Math.min(this.backoffMs * 2, reconnectBackoffMs.max);
    };
    stream.on('error', (error: Error) => broken(error.message));
    stream.on('end', () => broken('ended'));
    return stream;
  }
}

export class PaxosTransport {
  private readonly links = new Map<string, PeerLink>();
  private flushScheduled = false;

  constructor(
    private readonly selfId: string,
    peers: PeerAddress[],
    private readonly logger: Logger,
  ) {
    for (const peer of peers) if (peer.id !== selfId) this.links.set(peer.id, new PeerLink(peer, logger));
  }

  send(messages: readonly Message[]): void {
    for (const message of messages) this.links.get(message.to)?.enqueue(encodePaxosMessage(message));
    if (messages.length > 0 && !this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => {
        this.flushScheduled = false;
        for (const link of this.links.values()) link.flush();
      });
    }
  }

  /** What is queued for `peer`, undefined for an unknown peer. */
  backlog(peer: string): PeerBacklog | undefined {
    return this.links.get(peer)?.backlog;
  }

  close(): void {
    for (const link of this.links.values()) link.close();
  }

  /** paxos.v1.Paxos, delivering every well-formed message addressed to this member. */
  service(kit: HandlerKit, deliver: (message: Message) => void): ServiceBinding {
    const implementation: paxosV1.PaxosServer = {
      exchange: kit.bidiStream(
        async (call: ServerDuplexStream<paxosV1.ExchangeRequest, paxosV1.ExchangeResponse>, { shutdown }) => {
          const snapshots = new SnapshotAssembler();
          await untilCallEnds(call, shutdown, (request: paxosV1.ExchangeRequest) => {
            for (const raw of request.messages) {
              if (raw.to !== this.selfId) continue;
              const whole = raw.body?.$case === 'snapshotChunk' ? snapshots.add(raw) : raw;
              const message = whole && decodePaxosMessage(whole);
              if (message) deliver(message);
            }
            call.write({
              header: { memberId: this.selfId, epoch: 0n, ballot: undefined, revision: 0n, sequence: 0n, groupId: '' },
              ackedBatchId: request.batchId,
            });
          });
        },
      ),
    };
    return { definition: paxosV1.PaxosService, implementation };
  }
}
