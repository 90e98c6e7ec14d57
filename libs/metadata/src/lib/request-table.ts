// The requests whose first outcome the state machine remembers, so that a
// caller's retry (same request_id after a lost answer) is answered with that
// outcome instead of being applied again. It is replicated state: every
// replica remembers the same requests in log order and forgets the oldest
// first, and snapshots carry the table.
import { requestsRememberedBytesMax, requestsRememberedMax } from './limits';
import type { CommandResult } from './commands';

/** A caller's request_id and the fingerprint of the request it named. */
export interface RequestKey {
  readonly id: string;
  /** SHA-256 (64 hex digits) of the method and request without its id: another request under the same id differs. */
  readonly fingerprint: string;
}

export interface RememberedRequest extends RequestKey {
  /** The revision the first outcome reflects. */
  readonly revision: bigint;
  readonly result: CommandResult;
}

/**
 * Roughly the bytes a value takes, computed from the value alone (string
 * lengths, 8 per number, a little per field), so every replica counts the
 * same. An Error counts its message and details (its own fields are not
 * enumerable).
 */
export function estimatedBytes(value: unknown): number {
  if (typeof value === 'string') return 4 + value.length;
  if (typeof value !== 'object' || value === null) return 8;
  if (value instanceof Error) return estimatedBytes(value.message) + estimatedBytes({ ...value });
  let bytes = 4;
  for (const item of Array.isArray(value) ? value : Object.values(value)) bytes += 4 + estimatedBytes(item);
  return bytes;
}

export class RequestTable {
  /** Insertion order is log order: the first key is the oldest request. */
  private readonly byId = new Map<string, { readonly request: RememberedRequest; readonly bytes: number }>();
  private bytes = 0;

  /**
   * @param requestsMax how many requests to remember; the oldest is forgotten first.
   * @param bytesMax how many estimated bytes they may take; the oldest is forgotten first.
   */
  constructor(
    private readonly requestsMax = requestsRememberedMax,
    private readonly bytesMax = requestsRememberedBytesMax,
  ) {
    if (!Number.isInteger(requestsMax) || requestsMax < 1) {
      throw new RangeError(`requestsMax must be >= 1, got ${requestsMax}`);
    }
    if (!Number.isInteger(bytesMax) || bytesMax < 1) throw new RangeError(`bytesMax must be >= 1, got ${bytesMax}`);
  }

  /** Estimated bytes of what is remembered. */
  get estimatedBytes(): number {
    return this.bytes;
  }

  get size(): number {
    return this.byId.size;
  }

  get(id: string): RememberedRequest | undefined {
    return this.byId.get(id)?.request;
  }

  /** Remembers a request not remembered yet, forgetting the oldest beyond the bound. */
  remember(request: RememberedRequest): void {
    if (this.byId.has(request.id)) throw new RangeError(`request '${request.id}' is remembered already`);
    const bytes = estimatedBytes(request.id) + estimatedBytes(request.fingerprint) + estimatedBytes(request.result);
    this.byId.set(request.id, { request: Object.freeze({ ...request }), bytes });
    this.bytes += bytes;
    // The newest is always kept, whatever its size.
    while (this.byId.size > 1 && (this.byId.size > this.requestsMax || this.bytes > this.bytesMax)) {
      const [oldestId, oldest] = this.byId.entries().next().value as [string, { bytes: number }];
      this.byId.delete(oldestId);
      this.bytes -= oldest.bytes;
    }
  }

  /** Every remembered request, oldest first: the order a snapshot keeps them in. */
  list(): readonly RememberedRequest[] {
    return [...this.byId.values()].map((remembered) => remembered.request);
  }
}
