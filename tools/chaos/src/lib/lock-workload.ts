// The chaos run's lock clients: each loops over a few lock names, takes one
// through the lock service (a blocking Acquire), writes the lock's data key
// under the grant's fencing token while the grant is valid, and releases
// it; every call is recorded in the run's history for the lock checkers
// (mutual exclusion while valid, token order) and the fenced-write checker.
// Now and then a client lets its grant lapse without releasing it and then
// writes with the spent token, as a holder that paused past its lease would:
// once a later holder's write reached the group, that write must be refused.
import { performance } from 'node:perf_hooks';
import { setTimeout as delay } from 'node:timers/promises';
import type { ChaosRecorder } from '@bulwark/chaos-history';
import type { KvClient } from '@bulwark/kv-client';
import type { LockClient, LockGrantResult } from '@bulwark/lock-client';
import { seededUniform } from '@bulwark/random';
import { ClientLoops, settleFailedCall } from './client-loops';
import { recordedPut } from './kv-workload';

export interface LockWorkloadOptions {
  readonly seed: number;
  /** Concurrent lock clients; 0: none. */
  readonly clients: number;
  /** Lock names `chaos-lock-0` .. `chaos-lock-<locks - 1>`. */
  readonly locks: number;
  /** Each grant's lease. */
  readonly ttlMs: number;
  /** A call's deadline (an Acquire's: its wait plus this). */
  readonly callTimeoutMs: number;
}

/** How long an Acquire waits for the lock. */
const waitTimeoutMs = 2_000;
/** A write is started only while this much of the grant's validity is left: it must land while the grant holds. */
const writeMarginMs = 200;
/** The share of grants a client lets lapse, then writes under. */
const lapseShare = 0.1;

export function lockNames(count: number): string[] {
  return Array.from({ length: count }, (_, index) => `chaos-lock-${index}`);
}

/** The key a lock's holders write, fenced by their token. */
export function lockDataKey(name: string): string {
  return `chaos-locked/${name}`;
}

type Grant = { readonly token: bigint; readonly leaseId: string; readonly validUntilMs: number };

export class LockWorkload extends ClientLoops {
  /** Each lock client gets its own lock client and KV client (for its fenced writes) from clientsFor. */
  constructor(
    private readonly clientsFor: (index: number) => { readonly locks: LockClient; readonly kv: KvClient },
    private readonly recorder: ChaosRecorder,
    private readonly options: LockWorkloadOptions,
  ) {
    super();
    this.start(options.clients);
  }

  protected async loop(index: number): Promise<void> {
    const client = `lock-client-${index}`;
    const { locks, kv } = this.clientsFor(index);
    const random = seededUniform(this.options.seed * 1_000 + 500 + index);
    const names = lockNames(this.options.locks);
    let sequence = 0;
    while (this.running) {
      const name = names[Math.floor(random() * names.length)] as string;
      const grant = await this.acquire(locks, client, name);
      this.completed++;
      if (grant === undefined) continue;
      const fence = { lockName: name, token: grant.token };
      const write = () =>
        recordedPut(kv, this.recorder, client, lockDataKey(name), `${client}-${sequence++}`, {
          callTimeoutMs: this.options.callTimeoutMs,
          fence,
        });
      if (random() < lapseShare) {
        // Past the validity and a whole lease more: another client has likely taken the lock and written since.
        await delay(Math.max(0, grant.validUntilMs - performance.now()) + this.options.ttlMs);
        await write();
        this.completed++;
        continue;
      }
      const writes = 1 + Math.floor(random() * 3);
      for (let written = 0; written < writes && performance.now() < grant.validUntilMs - writeMarginMs; written++) {
        await write();
        this.completed++;
      }
      await this.release(locks, client, name, grant);
      this.completed++;
    }
  }

  /** A blocking Acquire, recorded; the grant when it was given and is still valid. */
  private async acquire(locks: LockClient, client: string, name: string): Promise<Grant | undefined> {
    const { ttlMs, callTimeoutMs } = this.options;
    const pending = this.recorder.invoke(client, { kind: 'lock-acquire', name, owner: client, ttlMs });
    let result: LockGrantResult;
    try {
      // Every grant as given, also one a long wait left little of: the checkers must see each token handed out.
      result = await locks.acquire(name, { owner: client, ttlMs, waitTimeoutMs, renewShortGrant: false });
    } catch (error) {
      // A call that failed on its way may still have been granted: its outcome is unknown, unless it was refused.
      settleFailedCall(pending, error);
      // The client does not know whether it holds the lock: it waits the lease out before trying again.
      await delay(Math.min(ttlMs, callTimeoutMs));
      return undefined;
    }
    if (!result.acquired) {
      pending.ok({ kind: 'lock-acquire', acquired: false });
      return undefined;
    }
    pending.ok({ kind: 'lock-acquire', acquired: true, token: result.token, validUntilMonoMs: result.validUntilMs });
    return result;
  }

  private async release(locks: LockClient, client: string, name: string, grant: Grant): Promise<void> {
    const pending = this.recorder.invoke(client, { kind: 'lock-release', name, owner: client, token: grant.token });
    try {
      await locks.release(name, client, grant.token, grant.leaseId);
    } catch (error) {
      settleFailedCall(pending, error);
      return;
    }
    pending.ok({ kind: 'lock-release' });
  }
}
