// The requests whose first outcome the state machine remembers, so that a
// caller's retry (same request_id after a lost answer) is answered with that
// outcome instead of being applied again. It is replicated state: every
// replica remembers the same requests in log order and forgets the oldest
// first, and snapshots carry the table.
import { requestsRememberedMax } from './limits';
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

export class RequestTable {
  /** Insertion order is log order: the first key is the oldest request. */
  private readonly byId = new Map<string, RememberedRequest>();

  /** @param requestsMax how many requests to remember; the oldest is forgotten first. */
  constructor(private readonly requestsMax = requestsRememberedMax) {
    if (!Number.isInteger(requestsMax) || requestsMax < 1) {
      throw new RangeError(`requestsMax must be >= 1, got ${requestsMax}`);
    }
  }

  get size(): number {
    return this.byId.size;
  }

  get(id: string): RememberedRequest | undefined {
    return this.byId.get(id);
  }

  /** Remembers a request not remembered yet, forgetting the oldest beyond the bound. */
  remember(request: RememberedRequest): void {
    if (this.byId.has(request.id)) throw new RangeError(`request '${request.id}' is remembered already`);
    this.byId.set(request.id, Object.freeze({ ...request }));
    if (this.byId.size > this.requestsMax) this.byId.delete(this.byId.keys().next().value as string);
  }

  /** Every remembered request, oldest first: the order a snapshot keeps them in. */
  list(): readonly RememberedRequest[] {
    return [...this.byId.values()];
  }
}
