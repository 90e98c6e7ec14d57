// Concurrent clients of kv.v1.KV through routers, as an application would
// use them: each operation is one call (the router retries inside it, up to
// the call's deadline), alternating between the routers. Every operation is
// recorded for the linearizability check: puts, compare-and-sets (a Txn
// comparing the value), deletes and STRONG reads of a few keys. A write
// that fails is recorded with an unknown outcome unless the status says it
// was refused outright; a read that fails did not happen. Every failure is
// kept with its time, so a test can say when clients saw errors.
import { performance } from 'node:perf_hooks';
import { kvV1 } from '@bulwark/contracts';
import { BulwarkError } from '@bulwark/errors';
import { HistoryRecorder, type PendingOperation } from '@bulwark/history';
import { callUnary } from '@bulwark/rpc';
import { casTransaction } from './kv-workload';

export interface RouterWorkloadOptions {
  readonly routers: readonly kvV1.KVClient[];
  readonly clients: number;
  /** Keys no other workload uses (an unknown write may still land later). */
  readonly keys: readonly string[];
  readonly random: () => number;
  /** Deadline of each call; the router retries within it. */
  readonly callDeadlineMs: number;
}

export interface ClientError {
  /** performance.now() when the call failed. */
  readonly at: number;
  readonly op: string;
  readonly error: string;
}

export interface RouterWorkload {
  readonly recorder: HistoryRecorder;
  readonly errors: readonly ClientError[];
  readonly succeeded: () => number;
  /** Resolves once count more operations have succeeded; rejects after timeoutMs. */
  progress(count: number, timeoutMs: number): Promise<void>;
  stop(): Promise<void>;
  /** After stop: one STRONG read of each key, recorded. */
  readEach(keys: readonly string[]): Promise<void>;
}

const { Consistency } = kvV1;

/** Statuses that say a write was refused before it could take effect. */
const definiteRefusals = new Set(['invalid-argument', 'failed-precondition', 'not-found']);

export function startRouterWorkload(options: RouterWorkloadOptions): RouterWorkload {
  const recorder = new HistoryRecorder(() => performance.now());
  const errors: ClientError[] = [];
  let stopping = false;
  let succeeded = 0;
  let valueCounter = 0;
  let callCounter = 0;
  const waiters = new Set<{ target: number; resolve: () => void }>();
  const pick = <T>(items: readonly T[]): T => items[Math.floor(options.random() * items.length)] as T;
  const settings = () => ({ deadlineMs: options.callDeadlineMs });

  async function once(client: string, readKey?: string): Promise<void> {
    const router = options.routers[callCounter++ % options.routers.length] as kvV1.KVClient;
    const key = readKey ?? pick(options.keys);
    const roll = readKey === undefined ? options.random() : 1;
    let pending: PendingOperation;
    let call: () => Promise<void>;
    if (roll < 0.4) {
      const value = `v${++valueCounter}`;
      pending = recorder.invoke({ client, key, op: 'put', value });
      call = async () => {
        const request = { key, value: Buffer.from(value), durability: 0, fence: undefined, requestId: '' };
        await callUnary(router, router.put, request, settings());
        pending.ok();
      };
    } else if (roll < 0.6) {
      const value = `v${++valueCounter}`;
      const expect =
        options.random() < 0.3 ? null : `v${Math.max(1, valueCounter - 1 - Math.floor(options.random() * 3))}`;
      pending = recorder.invoke({ client, key, op: 'cas', value, expect });
      call = async () => {
        const request = casTransaction(key, value, expect, kvV1.Durability.DURABILITY_UNSPECIFIED, '');
        const answer = await callUnary(router, router.txn, request, settings());
        pending.ok(answer.succeeded);
      };
    } else if (roll < 0.65) {
      pending = recorder.invoke({ client, key, op: 'del' });
      call = async () => {
        await callUnary(router, router.delete, { key, durability: 0, fence: undefined, requestId: '' }, settings());
        pending.ok();
      };
    } else {
      pending = recorder.invoke({ client, key, op: 'get' });
      call = async () => {
        const request = { key, consistency: Consistency.CONSISTENCY_STRONG, maxStalenessMs: 0 };
        const answer = await callUnary(router, router.get, request, settings());
        pending.ok(answer.found ? Buffer.from(answer.kv?.value ?? []).toString() : null);
      };
    }
    try {
      await call();
      succeeded++;
      for (const waiter of [...waiters]) {
        if (succeeded < waiter.target) continue;
        waiters.delete(waiter);
        waiter.resolve();
      }
    } catch (error) {
      const kind = error instanceof BulwarkError ? error.kind : 'unknown';
      errors.push({ at: performance.now(), op: roll >= 0.65 ? 'get' : 'write', error: `${kind}: ${String(error)}` });
      if (roll >= 0.65 || definiteRefusals.has(kind)) pending.fail();
      else pending.unknown();
    }
  }

  const loops = Array.from({ length: options.clients }, async (_, index) => {
    const client = `client-${index + 1}`;
    while (!stopping) await once(client);
  });

  return {
    recorder,
    errors,
    succeeded: () => succeeded,
    progress: (count, timeoutMs) =>
      new Promise<void>((resolve, reject) => {
        const waiter = {
          target: succeeded + count,
          resolve: () => {
            clearTimeout(timer);
            resolve();
          },
        };
        const timer = setTimeout(() => {
          waiters.delete(waiter);
          reject(new Error(`${count} operations did not succeed within ${timeoutMs} ms (${succeeded} in all)`));
        }, timeoutMs);
        waiters.add(waiter);
      }),
    stop: async () => {
      stopping = true;
      await Promise.all(loops);
    },
    readEach: async (keys) => {
      for (const key of keys) await once('final-reader', key);
    },
  };
}
