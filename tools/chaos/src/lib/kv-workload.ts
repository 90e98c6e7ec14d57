// The chaos run's clients: each loops over a seeded mix of sync Puts (every
// value unique, so a read names the write it saw), Gets (STRONG, which the
// linearizability checker judges, BOUNDED and EVENTUAL), sync Deletes and
// compare-and-sets (a one-compare Txn) on a small key set; async Puts on
// keys of their own (a failover may lose them, which the async-loss checker
// counts, so they must not blur what the sync keys show); and two-key Txns
// that write one value to both keys of a pair (a hash tag puts them in one
// group), so that a replica holding different values shows a torn
// transaction. All go through the routers with the KV client, and every call
// is recorded in the run's history. A write's error leaves its
// outcome unknown unless the store refused it (the client's request id makes
// a retried write answer with the first outcome, so a refusal is final); a
// read's error is a failure: it changed nothing.
import type { ChaosRecorder, Consistency, Durability, TxnWrite } from '@bulwark/chaos-history';
import type {
  DeleteResult,
  Fence,
  GetResult,
  KvClient,
  PutResult,
  ResponseHeader,
  TxnResult,
} from '@bulwark/kv-client';
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

/**
 * What a KV client may do: get is a STRONG read, the other two gets read at
 * their consistency; async-put writes an async key; txn writes a pair.
 */
export const kvOperationKinds = [
  'put',
  'get',
  'bounded-get',
  'eventual-get',
  'delete',
  'cas',
  'async-put',
  'txn',
] as const;
export type KvOperationKind = (typeof kvOperationKinds)[number];

/** How far behind a BOUNDED read may be. */
const boundedStalenessMs = 1_000;

/** The keys of each kind of write, for `keys` sync keys: a quarter as many async keys and transaction pairs. */
export interface WorkloadKeys {
  /** `chaos/<n>`: sync writes and reads at every consistency. */
  readonly sync: readonly string[];
  /** `chaos-async/<n>`: async Puts only. */
  readonly async: readonly string[];
  /** `chaos-txn/{<n>}/a` and `/b`: only written together, by one Txn. */
  readonly pairs: readonly (readonly [string, string])[];
}

export function workloadKeys(keys: number): WorkloadKeys {
  const range = (count: number) => Array.from({ length: count }, (_, index) => index);
  const quarter = Math.ceil(keys / 4);
  return {
    sync: range(keys).map((index) => `chaos/${index}`),
    async: range(quarter).map((index) => `chaos-async/${index}`),
    pairs: range(quarter).map((index) => [`chaos-txn/{${index}}/a`, `chaos-txn/{${index}}/b`] as const),
  };
}

/** Every key the workload may write. */
export function allWorkloadKeys(keys: WorkloadKeys): string[] {
  return [...keys.sync, ...keys.async, ...keys.pairs.flat()];
}

/** Where in its group's log a write was committed, for the write-positions checker; none when not told. */
function logPositionOf(header: ResponseHeader): { epoch?: bigint; sequence?: bigint } {
  return header.epoch > 0n && header.sequence > 0n ? { epoch: header.epoch, sequence: header.sequence } : {};
}

/** A Put through the routers (sync unless said), recorded: ok, failed when the store refused it, else of unknown outcome. */
export async function recordedPut(
  kv: KvClient,
  recorder: ChaosRecorder,
  client: string,
  key: string,
  value: string,
  options: { readonly callTimeoutMs: number; readonly fence?: Fence; readonly durability?: Durability },
): Promise<void> {
  const { fence, durability = 'sync' } = options;
  const pending = recorder.invoke(client, { kind: 'put', key, value, durability, ...(fence ? { fence } : {}) });
  let result: PutResult;
  try {
    result = await kv.put(key, value, { durability, timeoutMs: options.callTimeoutMs, ...(fence ? { fence } : {}) });
  } catch (error) {
    settleFailedCall(pending, error);
    return;
  }
  // Outside the try: a record the recorder refuses is a bug of the run, not a refusal of the write.
  pending.ok({
    kind: 'put',
    succeeded: result.succeeded,
    version: result.version,
    group: result.header.groupId,
    ...logPositionOf(result.header),
  });
}

/** A compare that holds when `key` holds `expect`: on the value, or on version 0 for absent (null). */
function expectation(key: string, expect: string | null) {
  return expect === null
    ? { key, target: 'version' as const, operator: 'equal' as const, version: 0n }
    : { key, target: 'value' as const, operator: 'equal' as const, value: expect };
}

/** One client of the workload: its name in the history and its own KV client. */
interface Caller {
  readonly name: string;
  readonly kv: KvClient;
}

export class KvWorkload extends ClientLoops {
  /** Clients of this workload: index to index + clients - 1; each gets its own KV client from clientFor. */
  constructor(
    private readonly clientFor: (index: number) => KvClient,
    private readonly recorder: ChaosRecorder,
    private readonly options: KvWorkloadOptions,
  ) {
    super();
    this.start(options.clients);
  }

  protected async loop(index: number): Promise<void> {
    const caller: Caller = { name: `client-${index}`, kv: this.clientFor(index) };
    const random = seededUniform(this.options.seed * 1_000 + index);
    const keys = workloadKeys(this.options.keys);
    const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
    const { mix } = this.options;
    const total = kvOperationKinds.reduce((sum, kind) => sum + mix[kind], 0);
    // What this client last saw in each key, which its compare-and-sets and Txns expect (a guess: others write too).
    const seen = new Map<string, string | null>();
    for (let sequence = 0; this.running; sequence++) {
      const key = pick(keys.sync);
      const value = `${caller.name}-${sequence}`;
      let draw = random() * total;
      const kind = kvOperationKinds.find((candidate) => (draw -= mix[candidate]) < 0) ?? 'get';
      switch (kind) {
        case 'put':
          await this.put(caller, key, value);
          seen.set(key, value);
          break;
        case 'get':
          seen.set(key, await this.get(caller, key, 'strong'));
          break;
        case 'bounded-get':
          seen.set(key, await this.get(caller, key, 'bounded'));
          break;
        case 'eventual-get':
          seen.set(key, await this.get(caller, key, 'eventual'));
          break;
        case 'delete':
          await this.delete(caller, key);
          seen.set(key, null);
          break;
        case 'cas':
          if (await this.cas(caller, key, seen.get(key) ?? null, value)) seen.set(key, value);
          break;
        case 'async-put':
          await this.put(caller, pick(keys.async), value, 'async');
          break;
        case 'txn': {
          const pair = pick(keys.pairs);
          const swapped = await this.pairTxn(caller, pair, seen.get(pair[0]) ?? null, value);
          // A refused compare means another client wrote the pair: read what it holds for the next try.
          seen.set(pair[0], swapped ? value : await this.get(caller, pair[0], 'strong'));
          break;
        }
      }
      this.completed++;
    }
  }

  private put(caller: Caller, key: string, value: string, durability: Durability = 'sync'): Promise<void> {
    const { callTimeoutMs } = this.options;
    return recordedPut(caller.kv, this.recorder, caller.name, key, value, { callTimeoutMs, durability });
  }

  /** A read at `consistency`, recorded; what it read (null: absent, or when it failed). */
  private async get(caller: Caller, key: string, consistency: Consistency): Promise<string | null> {
    const pending = this.recorder.invoke(
      caller.name,
      consistency === 'bounded'
        ? { kind: 'get', key, consistency, maxStalenessMs: boundedStalenessMs }
        : { kind: 'get', key, consistency },
    );
    const { callTimeoutMs: timeoutMs } = this.options;
    let result: GetResult;
    try {
      result = await caller.kv.get(
        key,
        consistency === 'bounded'
          ? { consistency, maxStalenessMs: boundedStalenessMs, timeoutMs }
          : { consistency, timeoutMs },
      );
    } catch (error) {
      pending.fail(describeError(error));
      return null;
    }
    const value = result.kv ? result.kv.value.toString() : null;
    pending.ok({ kind: 'get', value, version: result.kv?.version ?? 0n, member: result.header.memberId });
    return value;
  }

  /**
   * Compare-and-set as a one-compare Txn (on the value, or on version 0 for
   * absent), recorded as libs/history's cas; whether it swapped.
   */
  private async cas(caller: Caller, key: string, expect: string | null, value: string): Promise<boolean> {
    const pending = this.recorder.invoke(caller.name, { kind: 'cas', key, expect, value, durability: 'sync' });
    let result: TxnResult;
    try {
      result = await caller.kv.txn(
        { compares: [expectation(key, expect)], success: [{ type: 'put', key, value }] },
        { durability: 'sync', timeoutMs: this.options.callTimeoutMs },
      );
    } catch (error) {
      settleFailedCall(pending, error);
      return false;
    }
    pending.ok({
      kind: 'cas',
      succeeded: result.succeeded,
      group: result.header.groupId,
      ...logPositionOf(result.header),
    });
    return result.succeeded;
  }

  /**
   * Writes `value` to both keys of a pair if the first holds `expect` (null:
   * absent), as one Txn with one compare and two puts; whether it did.
   */
  private async pairTxn(
    caller: Caller,
    pair: readonly [string, string],
    expect: string | null,
    value: string,
  ): Promise<boolean> {
    const [first] = pair;
    const compares = [expectation(first, expect)];
    const success: TxnWrite[] = pair.map((key) => ({ type: 'put', key, value }));
    const pending = this.recorder.invoke(caller.name, {
      kind: 'txn',
      compares,
      success,
      failure: [],
      durability: 'sync',
    });
    let result: TxnResult;
    try {
      result = await caller.kv.txn(
        { compares, success },
        { durability: 'sync', timeoutMs: this.options.callTimeoutMs },
      );
    } catch (error) {
      settleFailedCall(pending, error);
      return false;
    }
    pending.ok({
      kind: 'txn',
      succeeded: result.succeeded,
      group: result.header.groupId,
      ...logPositionOf(result.header),
    });
    return result.succeeded;
  }

  private async delete(caller: Caller, key: string): Promise<void> {
    const pending = this.recorder.invoke(caller.name, { kind: 'delete', key, durability: 'sync' });
    let result: DeleteResult;
    try {
      result = await caller.kv.delete(key, { durability: 'sync', timeoutMs: this.options.callTimeoutMs });
    } catch (error) {
      settleFailedCall(pending, error);
      return;
    }
    pending.ok({
      kind: 'delete',
      succeeded: result.succeeded,
      existed: result.existed,
      group: result.header.groupId,
      ...logPositionOf(result.header),
    });
  }
}
