// A lock server in memory, on an injected clock: the `memory` backend of a
// single lock-service instance (no fault tolerance: it forgets everything
// when the process ends), and the servers of the quorum's tests and
// simulation. Same semantics as the Redis scripts, call for call.
import { UnavailableError } from '@bulwark/errors';
import type { LockServer, ServerGrant, ServerLockState } from './lock-server';

interface Held {
  readonly owner: string;
  readonly token: bigint;
  readonly expiresAtMs: number;
}

export class MemoryLockServer implements LockServer {
  protected readonly fences = new Map<string, bigint>();
  protected readonly holders = new Map<string, Held>();
  /** While false every call fails, as a server that is down. */
  up = true;

  constructor(
    readonly id: string,
    protected readonly nowMs: () => number,
  ) {}

  async inspect(name: string): Promise<ServerLockState> {
    this.requireUp();
    const held = this.holderOf(name);
    return {
      fence: this.fences.get(name) ?? 0n,
      holder: held && { owner: held.owner, token: held.token, remainingTtlMs: held.expiresAtMs - this.nowMs() },
    };
  }

  async grant(name: string, owner: string, token: bigint, ttlMs: number): Promise<ServerGrant> {
    this.requireUp();
    const fence = this.fences.get(name) ?? 0n;
    const held = this.holderOf(name);
    if (held) {
      const holder = { owner: held.owner, token: held.token, remainingTtlMs: held.expiresAtMs - this.nowMs() };
      return { outcome: 'held', fence, holder };
    }
    if (fence >= token) return { outcome: 'stale', fence };
    this.fences.set(name, token);
    this.holders.set(name, { owner, token, expiresAtMs: this.nowMs() + ttlMs });
    return { outcome: 'granted' };
  }

  async release(name: string, owner: string, token: bigint): Promise<boolean> {
    this.requireUp();
    const held = this.holderOf(name);
    if (!held || held.owner !== owner || held.token !== token) return false;
    this.holders.delete(name);
    return true;
  }

  async refresh(name: string, owner: string, token: bigint, ttlMs: number): Promise<boolean> {
    this.requireUp();
    const held = this.holderOf(name);
    if (!held || held.owner !== owner || held.token !== token) return false;
    this.holders.set(name, { owner, token, expiresAtMs: this.nowMs() + ttlMs });
    return true;
  }

  /** The holder whose lease has not run out on this server's clock. */
  private holderOf(name: string): Held | undefined {
    const held = this.holders.get(name);
    if (held && held.expiresAtMs <= this.nowMs()) {
      this.holders.delete(name);
      return undefined;
    }
    return held;
  }

  private requireUp(): void {
    if (!this.up) throw new UnavailableError(`lock server ${this.id} is down`);
  }
}
