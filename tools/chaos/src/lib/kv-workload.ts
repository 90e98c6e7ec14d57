// The chaos run's clients: each loops over a seeded mix of sync Puts (every
// value unique, so a read names the write it saw), Gets (STRONG, which the
// linearizability checker judges, BOUNDED and EVENTUAL), sync Deletes and
// compare-and-sets (a one-compare Txn) on a small key set,
// through the routers with the KV client, and records every call in the
// run's history. A write's error leaves its
// outcome unknown unless the store refused it (the client's request id makes
// a retried write answer with the first outcome, so a refusal is final); a
// read's error is a failure: it changed nothing.
import type { ChaosRecorder, Consistency } from '@bulwark/chaos-history';
import type { Fence, KvClient, ResponseHeader } from '@bulwark/kv-client';
import { seededUniform } from '@bulwark/random';
import { ClientLoops, describeError, settleFailedCall } from './client-loops';

export interface KvWorkloadOptions {
  readonly seed: number;
  readonly clients: number;
  /** Keys `chaos/0` .. `chaos/<keys - 1>`. */
  readonly keys: number;
  /** Shares of each operation; they need not add up to 1. */
  readonly mix: Readonly<Record<KvOperationKind, number>>;
  /** A call's deadline, retries included. */
  readonly callTimeoutMs: number;
}

/** What a KV client may do: get is a STRONG read; the other two read at their consistency. */
export const kvOperationKinds = ['put', 'get', 'bounded-get', 'eventual-get', 'delete', 'cas'] as const;
export type KvOperationKind = (typeof kvOperationKinds)[number];

/** How far behind a BOUNDED read may be. */
const boundedStalenessMs = 1_000;

export function workloadKeys(count: number): string[] {
  return Array.from({ length: count }, (_, index) => `chaos/${index}`);
}

/** Where in its group's log a write was committed, for the write-positions checker; none when not told. */
function logPositionOf(header: ResponseHeader): { epoch?: bigint; sequence?: bigint } {
  return header.epoch > 0n && header.sequence > 0n ? { epoch: header.epoch, sequence: header.sequence } : {};
}

/** A sync Put through the routers, recorded: ok, failed when the store refused it, else of unknown outcome. */
export async function recordedPut(
  kv: KvClient,
  recorder: ChaosRecorder,
  client: string,
  key: string,
  value: string,
  options: { readonly callTimeoutMs: number; readonly fence?: Fence },
): Promise<void> {
  const { fence } = options;
  const pending = recorder.invoke(client, { kind: 'put', key, value, durability: 'sync', ...(fence ? { fence } : {}) });
  try {
    const result = await kv.put(key, value, {
      durability: 'sync',
      timeoutMs: options.callTimeoutMs,
      ...(fence ? { fence } : {}),
    });
    pending.ok({
      kind: 'put',
      succeeded: result.succeeded,
      version: result.version,
      group: result.header.groupId,
      ...logPositionOf(result.header),
    });
  } catch (error) {
    settleFailedCall(pending, error);
  }
}

export class KvWorkload extends ClientLoops {
  constructor(
    private readonly client: KvClient,
    private readonly recorder: ChaosRecorder,
    private readonly options: KvWorkloadOptions,
  ) {
    super();
    this.start(options.clients);
  }

  protected async loop(index: number): Promise<void> {
    const client = `client-${index}`;
    const random = seededUniform(this.options.seed * 1_000 + index);
    const keys = workloadKeys(this.options.keys);
    const { mix } = this.options;
    const total = kvOperationKinds.reduce((sum, kind) => sum + mix[kind], 0);
    // What this client last saw in each key, which its compare-and-sets expect (a guess: others write too).
    const seen = new Map<string, string | null>();
    for (let sequence = 0; this.running; sequence++) {
      const key = keys[Math.floor(random() * keys.length)] as string;
      const value = `${client}-${sequence}`;
      let draw = random() * total;
      const kind = kvOperationKinds.find((candidate) => (draw -= mix[candidate]) < 0) ?? 'get';
      switch (kind) {
        case 'put':
          await this.put(client, key, value);
          seen.set(key, value);
          break;
        case 'get':
          seen.set(key, await this.get(client, key, 'strong'));
          break;
        case 'bounded-get':
          seen.set(key, await this.get(client, key, 'bounded'));
          break;
        case 'eventual-get':
          seen.set(key, await this.get(client, key, 'eventual'));
          break;
        case 'delete':
          await this.delete(client, key);
          seen.set(key, null);
          break;
        case 'cas':
          if (await this.cas(client, key, seen.get(key) ?? null, value)) seen.set(key, value);
          break;
      }
      this.completed++;
    }
  }

  private put(client: string, key: string, value: string): Promise<void> {
    return recordedPut(this.client, this.recorder, client, key, value, { callTimeoutMs: this.options.callTimeoutMs });
  }

  /** A read at `consistency`, recorded; what it read (null: absent, or when it failed). */
  private async get(client: string, key: string, consistency: Consistency): Promise<string | null> {
    const pending = this.recorder.invoke(client, { kind: 'get', key, consistency });
    const { callTimeoutMs: timeoutMs } = this.options;
    try {
      const result = await this.client.get(
        key,
        consistency === 'bounded'
          ? { consistency, maxStalenessMs: boundedStalenessMs, timeoutMs }
          : { consistency, timeoutMs },
      );
      const value = result.kv ? result.kv.value.toString() : null;
      pending.ok({ kind: 'get', value, version: result.kv?.version ?? 0n, member: result.header.memberId });
      return value;
    } catch (error) {
      pending.fail(describeError(error));
      return null;
    }
  }

  /**
   * Compare-and-set as a one-compare Txn (on the value, or on version 0 for
   * absent), recorded as libs/history's cas; whether it swapped.
   */
  private async cas(client: string, key: string, expect: string | null, value: string): Promise<boolean> {
    const pending = this.recorder.invoke(client, { kind: 'cas', key, expect, value, durability: 'sync' });
    try {
      const result = await this.client.txn(
        {
          compares: [
            expect === null
              ? { key, target: 'version', operator: 'equal', version: 0n }
              : { key, target: 'value', operator: 'equal', value: expect },
          ],
          success: [{ type: 'put', key, value }],
        },
        { durability: 'sync', timeoutMs: this.options.callTimeoutMs },
      );
      pending.ok({
        kind: 'cas',
        succeeded: result.succeeded,
        group: result.header.groupId,
        ...logPositionOf(result.header),
      });
      return result.succeeded;
    } catch (error) {
      settleFailedCall(pending, error);
      return false;
    }
  }

  private async delete(client: string, key: string): Promise<void> {
    const pending = this.recorder.invoke(client, { kind: 'delete', key, durability: 'sync' });
    try {
      const result = await this.client.delete(key, { durability: 'sync', timeoutMs: this.options.callTimeoutMs });
      pending.ok({
        kind: 'delete',
        succeeded: result.succeeded,
        existed: result.existed,
        group: result.header.groupId,
        ...logPositionOf(result.header),
      });
    } catch (error) {
      settleFailedCall(pending, error);
    }
  }
}
