// The first outcome of each recent request id, so a retried write (the same
// request_id after a lost answer or a failover) is answered instead of
// applied twice. Replicated state: every member remembers the same ids in
// log order and forgets the oldest (lowest sequence) first, past a count
// and a byte bound; snapshots carry the table.
import { encodedOutcomeBytes } from './outcomes';
import { utf8Length } from './keys';
import type { Outcome } from './types';

export interface RememberedRequest {
  readonly requestId: string;
  /** The sequence of the entry that first carried the id. */
  readonly sequence: bigint;
  readonly outcome: Outcome;
}

/** What one remembered request counts against `dedupeBytesMax`: its id, its sequence, its encoded outcome. */
export function rememberedBytes(requestId: string, outcome: Outcome): number {
  return utf8Length(requestId) + 8 + encodedOutcomeBytes(outcome);
}

export class DedupeTable {
  private readonly byId = new Map<string, RememberedRequest>();
  /**
   * The same requests, oldest first, from `head` on. Evicting through the
   * Map's own order would cost more with every delete (V8 walks past the
   * deleted entries from the start), so the order is kept here.
   */
  private order: RememberedRequest[] = [];
  private head = 0;
  private bytes = 0;

  constructor(
    private readonly entriesMax: number,
    private readonly bytesMax: number,
  ) {}

  get size(): number {
    return this.byId.size;
  }

  /** Bytes counted against the byte bound. */
  get countedBytes(): number {
    return this.bytes;
  }

  get(requestId: string): RememberedRequest | undefined {
    return this.byId.get(requestId);
  }

  /** Remembers an id not remembered yet, at a sequence above every remembered one; forgets the oldest beyond the bounds. */
  remember(request: RememberedRequest): void {
    this.byId.set(request.requestId, request);
    this.order.push(request);
    this.bytes += rememberedBytes(request.requestId, request.outcome);
    // The newest is always kept, whatever its size.
    while (this.byId.size > 1 && (this.byId.size > this.entriesMax || this.bytes > this.bytesMax)) {
      const oldest = this.order[this.head] as RememberedRequest;
      this.head++;
      this.byId.delete(oldest.requestId);
      this.bytes -= rememberedBytes(oldest.requestId, oldest.outcome);
    }
    if (this.head > 1024 && this.head * 2 > this.order.length) {
      this.order = this.order.slice(this.head);
      this.head = 0;
    }
  }

  /** Every remembered request, oldest first: the order a snapshot keeps. */
  list(): RememberedRequest[] {
    return this.order.slice(this.head);
  }
}
