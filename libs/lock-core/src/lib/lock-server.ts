// One lock backend server as the quorum sees it: a Redis server through its
// Lua scripts in production, an in-memory one in tests and the `memory`
// backend. Each call is atomic on that server. Per lock name a server keeps
// the holder (owner and token, with a TTL) and a fence: the highest token it
// has ever granted for the name, which only grows and never expires.

/** Who holds a lock on one server, and for how much longer there. */
export interface ServerHolder {
  readonly owner: string;
  readonly token: bigint;
  readonly remainingTtlMs: number;
}

/** A lock on one server: its fence (0 before any grant) and its holder, if any. */
export interface ServerLockState {
  readonly fence: bigint;
  readonly holder: ServerHolder | undefined;
}

/** What one server did with a conditional grant. */
export type ServerGrant =
  /** The lock was free and the fence below the token: the fence is now the token, and the caller holds the lock here. */
  | { readonly outcome: 'granted' }
  /** Someone holds the lock here (the caller too, under another token): nothing changed. */
  | { readonly outcome: 'held'; readonly fence: bigint; readonly holder: ServerHolder }
  /** The fence is at or above the token (another grant took it): nothing changed. */
  | { readonly outcome: 'stale'; readonly fence: bigint };

export interface LockServer {
  /** Names the server in errors and logs. */
  readonly id: string;
  inspect(name: string, timeoutMs: number): Promise<ServerLockState>;
  /**
   * Atomically: if nobody holds name and its fence is below token, raise
   * the fence to token and make owner the holder for ttlMs.
   */
  grant(name: string, owner: string, token: bigint, ttlMs: number, timeoutMs: number): Promise<ServerGrant>;
  /** Atomically: if owner holds name under token, free it (true); otherwise change nothing (false). */
  release(name: string, owner: string, token: bigint, timeoutMs: number): Promise<boolean>;
  /** Atomically: if owner holds name under token, hold it ttlMs from now (true); otherwise change nothing (false). */
  refresh(name: string, owner: string, token: bigint, ttlMs: number, timeoutMs: number): Promise<boolean>;
}
