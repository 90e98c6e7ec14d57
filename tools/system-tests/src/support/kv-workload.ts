// Concurrent clients of one replica group, recording every operation for a
// linearizability check (libs/history): puts, compare-and-sets (a Txn
// comparing the value) and deletes of a few keys, and STRONG reads. Each
// client sends to the member it believes is primary and follows not-primary
// hints. A write is retried with its request_id until an answer is
// definite (the group answers a retry with the first outcome, also across a
// failover); one refused before it was ever proposed (not-primary answers
// only) did not happen; one given up on is recorded with an unknown outcome.
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { kvV1, type shardV1 } from '@bulwark/contracts';
import { NotLeaderError } from '@bulwark/errors';
import { HistoryRecorder, type PendingOperation } from '@bulwark/history';
import { callUnary } from '@bulwark/rpc';
import type { ReplicaName } from './replica-group';

export interface WorkloadOptions {
  readonly shards: ReadonlyMap<ReplicaName, shardV1.ShardClient>;
  readonly clients: number;
  /**
   * Keys no other workload on the same group uses: a write whose outcome
   * was unknown may still take effect later, which another history would
   * show as a value from nowhere.
   */
  readonly keys: readonly string[];
  readonly random: () => number;
  /** Per-call deadline. */
  readonly callDeadlineMs: number;
  /** How long a write is retried (same request_id) before its outcome is recorded unknown. */
  readonly retryForMs: number;
  /** Where the coordinators say the primary is, as a router would learn from the topology. */
  readonly locate: () => Promise<ReplicaName>;
  readonly durability?: kvV1.Durability;
}

export interface Workload {
  readonly recorder: HistoryRecorder;
  /** Operations acknowledged so far (writes and reads). */
  readonly succeeded: () => number;
  /** Resolves once `count` more operations have succeeded from now; rejects after timeoutMs. */
  progress(count: number, timeoutMs: number): Promise<void>;
  /** Lets every client finish its operation in flight, then stops them. */
  stop(): Promise<void>;
  /** After stop: a STRONG read of each key, recorded, retried until one succeeds (within timeoutMs). */
  readEach(keys: readonly string[], timeoutMs: number): Promise<void>;
}

const { Consistency, CompareTarget, CompareOperator } = kvV1;

/**
 * A compare-and-set as the checker models it, as a transaction: put value
 * if the key holds expect, or (expect null) if it does not exist.
 */
export function casTransaction(
  key: string,
  value: string,
  expect: string | null,
  durability: kvV1.Durability,
  requestId: string,
): kvV1.TxnRequest {
  const compare: kvV1.Compare = {
    key,
    target: expect === null ? CompareTarget.COMPARE_TARGET_VERSION : CompareTarget.COMPARE_TARGET_VALUE,
    operator: CompareOperator.COMPARE_OPERATOR_EQUAL,
    version: 0n,
    value: expect === null ? Buffer.alloc(0) : Buffer.from(expect),
  };
  const put = { key, value: Buffer.from(value), durability: 0, fence: undefined, requestId: '' };
  return {
    compares: [compare],
    success: [{ op: { $case: 'put', put } }],
    failure: [],
    durability,
    fence: undefined,
    requestId,
  };
}

const running = new Set<Workload>();

export function startWorkload(options: WorkloadOptions): Workload {
  const recorder = new HistoryRecorder(() => performance.now());
  const names = [...options.shards.keys()];
  let guess: ReplicaName = names[0] as ReplicaName;
  let stopping = false;
  let succeeded = 0;
  let valueCounter = 0;
  /** The last refusal or error a client saw, and from which member: what a stalled test reports. */
  let lastFailure = 'none';
  const waiters: Array<{ target: number; resolve: () => void }> = [];
  /** Resolves every waiter whose target the successes so far reach. */
  const resolveReached = () => {
    for (const waiter of waiters.filter((candidate) => succeeded >= candidate.target)) {
      waiters.splice(waiters.indexOf(waiter), 1);
      waiter.resolve();
    }
  };
  const noteSuccess = () => {
    succeeded++;
    resolveReached();
  };
  const pick = <T>(items: readonly T[]): T => items[Math.floor(options.random() * items.length)] as T;
  const durability = options.durability ?? kvV1.Durability.DURABILITY_UNSPECIFIED;

  let requestCounter = 0;
  // Request ids are remembered by the group (its dedupe table): unique across workloads too.
  const workloadId = randomUUID();

  /** One operation: a write retried with its request_id until an answer is definite (the group dedupes). */
  async function once(client: string, only?: { key: string }): Promise<boolean> {
    const key = only?.key ?? pick(options.keys);
    const roll = only ? 1 : options.random();
    const requestId = `${workloadId}-${client}-${++requestCounter}`;
    let pending: PendingOperation;
    let call: (shard: shardV1.ShardClient, settings: { deadlineMs: number }) => Promise<void>;
    if (roll < 0.4) {
      const value = `v${++valueCounter}`;
      pending = recorder.invoke({ client, key, op: 'put', value });
      call = async (shard, settings) => {
        const request = { key, value: Buffer.from(value), durability, fence: undefined, requestId };
        await callUnary(shard, shard.put, { groupId: 'group-a', request }, settings);
        pending.ok();
      };
    } else if (roll < 0.6) {
      const value = `v${++valueCounter}`;
      const expect =
        options.random() < 0.3 ? null : `v${Math.max(1, valueCounter - 1 - Math.floor(options.random() * 3))}`;
      pending = recorder.invoke({ client, key, op: 'cas', value, expect });
      call = async (shard, settings) => {
        const request = casTransaction(key, value, expect, durability, requestId);
        const answer = await callUnary(shard, shard.txn, { groupId: 'group-a', request }, settings);
        pending.ok(answer.response?.succeeded ?? false);
      };
    } else if (roll < 0.65) {
      pending = recorder.invoke({ client, key, op: 'del' });
      call = async (shard, settings) => {
        const request = { key, durability, fence: undefined, requestId };
        await callUnary(shard, shard.delete, { groupId: 'group-a', request }, settings);
        pending.ok();
      };
    } else {
      pending = recorder.invoke({ client, key, op: 'get' });
      call = async (shard, settings) => {
        const request = { key, consistency: Consistency.CONSISTENCY_STRONG, maxStalenessMs: 0 };
        const answer = await callUnary(shard, shard.get, { groupId: 'group-a', request }, settings);
        pending.ok(answer.response?.found ? Buffer.from(answer.response.kv?.value ?? []).toString() : null);
      };
    }
    const isRead = roll >= 0.65;
    const giveUpAt = Date.now() + options.retryForMs;
    // Whether some attempt may have taken effect: until then a refusal means it did not happen.
    let mayHaveHappened = false;
    for (;;) {
      const target = guess;
      try {
        await call(options.shards.get(target) as shardV1.ShardClient, { deadlineMs: options.callDeadlineMs });
        noteSuccess();
        return true;
      } catch (error) {
        lastFailure = `${target}: ${error instanceof Error ? error.message : String(error)}`;
        if (error instanceof NotLeaderError) {
          // Refused before anything was proposed.
          const hinted = error.details.leaderId;
          guess = hinted && options.shards.has(hinted as ReplicaName) ? (hinted as ReplicaName) : pick(names);
        } else {
          mayHaveHappened = true;
          // No hint (the member is down, paused or not serving yet): ask the coordinators.
          guess = await options.locate().catch(() => pick(names));
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
        // A read has no effect: a failed one simply did not happen.
        if (isRead || Date.now() > giveUpAt || stopping) {
          if (isRead || !mayHaveHappened) pending.fail();
          else pending.unknown();
          return false;
        }
      }
    }
  }

  const loops = Array.from({ length: options.clients }, async (_, index) => {
    const client = `client-${index + 1}`;
    while (!stopping) await once(client);
  });
  let stopped: Promise<unknown> | undefined;

  const workload: Workload = {
    recorder,
    succeeded: () => succeeded,
    progress: (count, timeoutMs) =>
      new Promise<void>((resolve, reject) => {
        const target = succeeded + count;
        const timer = setTimeout(() => {
          const index = waiters.findIndex((waiter) => waiter.resolve === done);
          if (index >= 0) waiters.splice(index, 1);
          reject(
            new Error(
              `${count} operations did not succeed within ${timeoutMs} ms (${succeeded} in all; last failure ${lastFailure})`,
            ),
          );
        }, timeoutMs);
        const done = () => {
          clearTimeout(timer);
          resolve();
        };
        waiters.push({ target, resolve: done });
        if (succeeded >= target) resolveReached();
      }),
    stop: async () => {
      stopping = true;
      stopped ??= Promise.all(loops);
      await stopped;
      running.delete(workload);
    },
    readEach: async (keys, timeoutMs) => {
      const deadline = Date.now() + timeoutMs;
      for (const key of keys) {
        while (!(await once('final-reader', { key }))) {
          if (Date.now() > deadline) throw new Error(`no STRONG read of ${key} succeeded within ${timeoutMs} ms`);
        }
      }
    },
  };
  running.add(workload);
  return workload;
}

/**
 * Stops every workload still running: a test that failed before its own
 * stop would otherwise leave clients retrying against a stopped fleet,
 * and Jest would never exit.
 */
export async function stopWorkloads(): Promise<void> {
  await Promise.all([...running].map((workload) => workload.stop()));
}
