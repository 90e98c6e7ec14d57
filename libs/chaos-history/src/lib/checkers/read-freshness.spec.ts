import { InvalidArgumentError } from '@bulwark/errors';
import fc from 'fast-check';
import {
  ChaosHistoryBuilder,
  boundedGet,
  cas,
  casOk,
  del,
  deleteOk,
  get,
  getOk,
  put,
  putOk,
  txnOk,
  txnPutAll,
} from '../../testing';
import { indexChaosHistory, recordsOf } from '../history-index';
import { appliedWrites, possibleWrites } from '../key-writes';
import type { ChaosRecord, Consistency } from '../records';
import { checkReadFreshness, type ReadFreshnessResult } from './read-freshness';

/** The records of the given operations, in history order. */
function recordsOfOps(records: readonly ChaosRecord[], opIds: readonly number[]): ChaosRecord[] {
  const history = indexChaosHistory(records);
  return history.subHistory(
    history.operations.filter((operation) => opIds.includes(operation.opId)).flatMap(recordsOf),
  );
}

const kinds = (result: ReadFreshnessResult) => result.anomalies.map(({ kind, opId }) => ({ kind, opId }));

describe('checkReadFreshness: no phantom value', () => {
  it.each<[Consistency, ReturnType<typeof get>]>([
    ['strong', get('k', 'strong')],
    ['bounded', boundedGet('k', 1_000)],
    ['eventual', get('k', 'eventual')],
  ])('reports a %s read of a value no write invoked before it completed had written', (consistency, read) => {
    const history = new ChaosHistoryBuilder();
    history.ok('c1', put('k', 'a'), [0, 10], putOk());
    // Written only by a refused put, and by one invoked after the read completed.
    history.fail('c2', put('k', 'ghost'), [20, 30]);
    const phantom = history.ok('c3', read, [40, 50], getOk('ghost', 'replica-a2'));
    history.ok('c2', put('k', 'ghost'), [60, 70], putOk());
    const records = history.records;

    const result = checkReadFreshness(records);

    expect(result.anomalyCount).toBe(1);
    expect(result.anomalies).toEqual([
      {
        kind: 'phantom-value',
        description:
          `${consistency} get #3 by c3 read "k" on replica-a2 as "ghost", but no write of it that did not fail ` +
          'was invoked before the read completed at 50 ms (the first, put #4 by c2, was invoked at 60 ms)',
        records: recordsOfOps(records, [phantom]),
        key: 'k',
        consistency,
        member: 'replica-a2',
        opId: phantom,
        value: 'ghost',
      },
    ]);
    expect(result.readsChecked[consistency]).toBe(1);
  });

  it('reports a read of a key nobody wrote, and says so', () => {
    const history = new ChaosHistoryBuilder();
    const read = history.ok('c1', get('never', 'eventual'), [0, 5], getOk('x'));
    const [anomaly] = checkReadFreshness(history.records).anomalies;
    expect(anomaly).toMatchObject({ kind: 'phantom-value', opId: read, key: 'never' });
    expect(anomaly?.description).toBe(
      'eventual get #1 by c1 read "never" on replica-a1 as "x", but no write of it that did not fail was invoked ' +
        'before the read completed at 5 ms',
    );
  });

  it('accepts a value whose write is concurrent, unknown, never completed, or a txn, and absence anywhere', () => {
    const history = new ChaosHistoryBuilder();
    history.ok('c1', put('k', 'slow'), [0, 100], putOk());
    history.ok('c2', get('k', 'eventual'), [10, 20], getOk('slow'));
    history.unknown('c1', put('k', 'lost?'), [110, 120]);
    history.ok('c2', get('k', 'strong'), [115, 118], getOk('lost?'));
    history.unknown('c1', put('k', 'open'), [130, null]);
    history.ok('c2', boundedGet('k', 10), [5_000, 5_001], getOk('open'));
    history.ok('c3', txnPutAll(['k', 'j'], 't1'), [6_000, 6_010], txnOk(true));
    history.ok('c2', get('j', 'eventual'), [6_005, 6_006], getOk('t1'));
    history.ok('c2', get('nobody', 'eventual'), [0, 1], getOk(null));

    const result = checkReadFreshness(history.records);

    expect(result).toMatchObject({
      anomalies: [],
      anomalyCount: 0,
      readsChecked: { strong: 1, bounded: 1, eventual: 3 },
      boundedReadsWithoutBound: 0,
      keysSkipped: [],
      readsSkipped: 0,
    });
  });

  it('judges only ok reads: a failed or unknown read returned nothing', () => {
    const history = new ChaosHistoryBuilder();
    history.fail('c1', get('k', 'eventual'), [0, 5]);
    history.unknown('c1', get('k', 'bounded'), [10, 20]);
    expect(checkReadFreshness(history.records)).toMatchObject({
      anomalyCount: 0,
      readsChecked: { strong: 0, bounded: 0, eventual: 0 },
    });
  });
});

describe('checkReadFreshness: bounded staleness', () => {
  /** put a, then put b (acknowledged at 30 ms), then a bounded read of a invoked at `readMs` asking for 1 s. */
  function overwritten(readMs: number) {
    const history = new ChaosHistoryBuilder();
    const a = history.ok('c1', put('k', 'a'), [0, 10], putOk());
    const b = history.ok('c1', put('k', 'b'), [20, 30], putOk());
    const read = history.ok('c2', boundedGet('k', 1_000), [readMs, readMs + 5], getOk('a', 'replica-a3'));
    return { records: history.records, a, b, read };
  }

  it('reports a read of a value overwritten longer ago than its bound plus the slack, with the three writes that show it', () => {
    const { records, a, b, read } = overwritten(2_000);

    const result = checkReadFreshness(records);

    expect(result.anomalies).toEqual([
      {
        kind: 'stale-bounded-read',
        description:
          'bounded get #3 by c2 read "k" on replica-a3 as "a", at least 1970 ms stale, beyond its bound of 1000 ms ' +
          'plus 250 ms slack: the last write of that to complete, put #1 by c1, was acknowledged at 10 ms; then ' +
          'put #2 by c1, invoked at 20 ms, set it to "b" and was acknowledged at 30 ms; the read was invoked at 2000 ms',
        records: recordsOfOps(records, [a, b, read]),
        key: 'k',
        member: 'replica-a3',
        opId: read,
        value: 'a',
        writerOpId: a,
        overwriteOpId: b,
        maxStalenessMs: 1_000,
        staleMs: 1_970,
      },
    ]);
    // The evidence alone shows it again.
    expect(kinds(checkReadFreshness(result.anomalies[0]?.records ?? []))).toEqual([
      { kind: 'stale-bounded-read', opId: read },
    ]);
  });

  it('accepts a read within its bound plus the slack, up to the edge, and applies the slack given', () => {
    // The key surely held b from 30 ms: a read invoked by 30 + 1000 + 250 ms may still see a.
    expect(checkReadFreshness(overwritten(1_280).records).anomalyCount).toBe(0);
    expect(kinds(checkReadFreshness(overwritten(1_281).records))).toEqual([{ kind: 'stale-bounded-read', opId: 3 }]);
    expect(checkReadFreshness(overwritten(1_100).records, { slackMs: 100 }).anomalyCount).toBe(0);
    expect(checkReadFreshness(overwritten(1_100).records, { slackMs: 0 }).anomalies[0]).toMatchObject({
      staleMs: 1_070,
    });
  });

  it('accepts a value whose write overlapped the overwrite: the overwrite may have come first', () => {
    const history = new ChaosHistoryBuilder();
    history.ok('c1', put('k', 'a'), [0, 100], putOk());
    history.ok('c2', put('k', 'b'), [50, 60], putOk());
    history.ok('c3', boundedGet('k', 100), [5_000, 5_010], getOk('a'));
    expect(checkReadFreshness(history.records)).toMatchObject({ anomalyCount: 0, readsChecked: { bounded: 1 } });
  });

  it('accepts a value whose write is unknown: it may take effect at any time, after every later write', () => {
    const history = new ChaosHistoryBuilder();
    history.unknown('c1', put('k', 'a'), [0, 10]);
    history.ok('c2', put('k', 'b'), [20, 30], putOk());
    history.ok('c3', boundedGet('k', 100), [5_000, 5_010], getOk('a'));
    expect(checkReadFreshness(history.records).anomalyCount).toBe(0);
  });

  it('shows the overwrite acknowledged first, not the one invoked first', () => {
    const history = new ChaosHistoryBuilder();
    history.ok('c1', put('k', 'a'), [0, 10], putOk());
    history.ok('c2', put('k', 'slow'), [20, 3_000], putOk());
    const quick = history.ok('c3', put('k', 'quick'), [30, 40], putOk());
    history.ok('c4', boundedGet('k', 100), [1_000, 1_010], getOk('a'));
    expect(checkReadFreshness(history.records).anomalies).toMatchObject([{ overwriteOpId: quick, staleMs: 960 }]);
  });

  it('judges a value written twice by its write that completed last', () => {
    const history = new ChaosHistoryBuilder();
    history.ok('c1', put('k', 'a'), [0, 10], putOk());
    history.ok('c1', put('k', 'b'), [20, 30], putOk());
    const again = history.ok('c1', put('k', 'a'), [40, 50], putOk());
    history.ok('c2', boundedGet('k', 100), [5_000, 5_010], getOk('a'));
    expect(checkReadFreshness(history.records).anomalyCount).toBe(0);
    const c = history.ok('c1', put('k', 'c'), [60, 70], putOk());
    expect(checkReadFreshness(history.records).anomalies).toMatchObject([
      { kind: 'stale-bounded-read', writerOpId: again, overwriteOpId: c, staleMs: 4_930 },
    ]);
  });

  it('counts as an overwrite only an ok write that took effect with another value', () => {
    const history = new ChaosHistoryBuilder();
    history.ok('c1', put('k', 'a'), [0, 10], putOk());
    history.fail('c1', put('k', 'refused'), [20, 30]);
    history.unknown('c1', put('k', 'maybe'), [40, 50]);
    history.ok('c1', cas('k', 'nope', 'no-swap'), [60, 70], casOk(false));
    // A transaction whose compare failed wrote its failure branch, which leaves k alone.
    const failure = [{ type: 'put' as const, key: 'other', value: 'y' }];
    history.ok('c1', txnPutAll(['k'], 'x', { failure }), [80, 90], txnOk(false));
    history.ok('c2', boundedGet('k', 100), [5_000, 5_010], getOk('a'));
    expect(checkReadFreshness(history.records).anomalyCount).toBe(0);
    // A transaction's success branch overwrites like a put.
    const txn = history.ok('c1', txnPutAll(['k', 'j'], 't'), [100, 110], txnOk(true));
    expect(checkReadFreshness(history.records).anomalies).toMatchObject([{ overwriteOpId: txn }]);
  });

  it('accepts absence after a delete or from the start, and reports it once surely overwritten', () => {
    const history = new ChaosHistoryBuilder();
    // Absent from the start, read while the first put is in flight; then read after the delete.
    history.ok('c2', boundedGet('k', 100), [5, 8], getOk(null));
    history.ok('c1', put('k', 'a'), [0, 10], putOk());
    const deleted = history.ok('c1', del('k'), [20, 30], deleteOk());
    history.ok('c2', boundedGet('k', 100), [5_000, 5_010], getOk(null));
    expect(checkReadFreshness(history.records)).toMatchObject({ anomalyCount: 0, readsChecked: { bounded: 2 } });

    // Overwritten after the read at 5000 ms, more than 100 + 250 ms before the next one.
    const b = history.ok('c1', put('k', 'b'), [5_500, 5_510], putOk());
    const stale = history.ok('c2', boundedGet('k', 100), [6_000, 6_010], getOk(null));
    const result = checkReadFreshness(history.records);
    expect(result.anomalies).toMatchObject([
      { kind: 'stale-bounded-read', opId: stale, value: null, writerOpId: deleted, overwriteOpId: b },
    ]);
    expect(result.anomalies[0]?.description).toContain(
      'read "k" on replica-a1 as absent, at least 490 ms stale, beyond its bound of 100 ms plus 250 ms slack: the ' +
        'last write of that to complete, delete #3 by c1, was acknowledged at 30 ms; then put #5 by c1',
    );
  });

  it('reports absence read long after the first write, when no delete explains it', () => {
    const history = new ChaosHistoryBuilder();
    const a = history.ok('c1', put('k', 'a'), [0, 10], putOk());
    history.unknown('c1', del('k'), [5_000, null]);
    const stale = history.ok('c2', boundedGet('k', 100), [2_000, 2_010], getOk(null));
    const result = checkReadFreshness(history.records);
    expect(result.anomalies).toMatchObject([
      { kind: 'stale-bounded-read', opId: stale, writerOpId: null, overwriteOpId: a, staleMs: 1_990 },
    ]);
    expect(result.anomalies[0]?.description).toContain(
      'it was absent from the start, and no delete of it was invoked before the read completed; then put #1 by c1',
    );
    expect(result.anomalies[0]?.records).toEqual(recordsOfOps(history.records, [a, stale]));
  });

  it('judges strong and eventual reads, and bounded ones without a bound, by the phantom rule only', () => {
    const history = new ChaosHistoryBuilder();
    history.ok('c1', put('k', 'a'), [0, 10], putOk());
    history.ok('c1', put('k', 'b'), [20, 30], putOk());
    for (const read of [get('k', 'strong'), get('k', 'eventual'), get('k', 'bounded')]) {
      history.ok('c2', read, [5_000, 5_010], getOk('a'));
    }
    expect(checkReadFreshness(history.records)).toMatchObject({
      anomalyCount: 0,
      readsChecked: { strong: 1, bounded: 1, eventual: 1 },
      boundedReadsWithoutBound: 1,
    });
  });

  it('skips keys that a write that did not fail may have written async, counting their reads', () => {
    const history = new ChaosHistoryBuilder();
    history.ok('c1', put('k', 'a', { durability: 'async' }), [0, 10], putOk());
    history.ok('c1', put('k', 'b'), [20, 30], putOk());
    history.ok('c2', boundedGet('k', 100), [5_000, 5_010], getOk('a'));
    history.ok('c2', get('k', 'eventual'), [5_000, 5_010], getOk('ghost'));
    history.unknown('c1', del('j', { durability: 'async' }), [0, null]);
    history.ok('c2', get('j', 'eventual'), [5_000, 5_010], getOk('ghost'));
    // A refused async write changed nothing: key i is still judged.
    history.fail('c1', put('i', 'x', { durability: 'async' }), [0, 10]);
    const judged = history.ok('c2', get('i', 'eventual'), [5_000, 5_010], getOk('x'));

    expect(checkReadFreshness(history.records)).toMatchObject({
      anomalies: [{ kind: 'phantom-value', opId: judged }],
      readsChecked: { strong: 0, bounded: 0, eventual: 1 },
      keysSkipped: ['j', 'k'],
      readsSkipped: 3,
    });
  });

  it('keeps the first anomaliesMax and counts them all', () => {
    const history = new ChaosHistoryBuilder();
    for (let index = 0; index < 5; index++)
      history.ok('c1', get('k', 'eventual'), [index, index + 1], getOk(`g${index}`));
    const result = checkReadFreshness(history.records, { anomaliesMax: 2 });
    expect(result.anomalyCount).toBe(5);
    expect(result.anomalies.map(({ value }) => value)).toEqual(['g0', 'g1']);
  });

  it.each([-1, Number.NaN, Infinity])('refuses slackMs %s', (slackMs) => {
    expect(() => checkReadFreshness([], { slackMs })).toThrow(InvalidArgumentError);
    expect(() => checkReadFreshness([], { slackMs })).toThrow(`must be a finite number of at least 0, got ${slackMs}`);
  });
});

interface Step {
  readonly key: 'a' | 'b';
  readonly kind: 'put' | 'delete' | 'read';
  readonly fate: 'ok' | 'unknown-applied' | 'unknown-lost' | 'fail';
  readonly beforeMs: number;
  readonly afterMs: number;
  /** A read: how far behind the primary its replica is, within its bound. */
  readonly lagMs: number;
}

const step: fc.Arbitrary<Step> = fc.record({
  key: fc.constantFrom('a', 'b'),
  kind: fc.constantFrom('put', 'delete', 'read', 'read'),
  fate: fc.constantFrom('ok', 'ok', 'ok', 'unknown-applied', 'unknown-lost', 'fail'),
  beforeMs: fc.integer({ min: 0, max: 40 }),
  afterMs: fc.integer({ min: 0, max: 40 }),
  lagMs: fc.integer({ min: 0, max: 60 }),
});

describe('checkReadFreshness on a correct store', () => {
  it('passes bounded reads served by a replica at most their bound behind, even without slack (300 runs)', () => {
    fc.assert(
      fc.property(fc.array(step, { maxLength: 60 }), (steps) => {
        const boundMs = 60;
        const history = new ChaosHistoryBuilder();
        // Each step takes effect at its point, 10 ms apart; the state after each point, per key.
        const states: { atMs: number; values: Map<string, string> }[] = [{ atMs: -Infinity, values: new Map() }];
        steps.forEach((next, index) => {
          const pointMs = 100 + index * 10;
          const interval: [number, number] = [pointMs - next.beforeMs, pointMs + next.afterMs];
          const values = new Map((states.at(-1) as (typeof states)[number]).values);
          if (next.kind === 'read') {
            // What the primary held lagMs before the read took effect.
            const seenAtMs = pointMs - Math.min(next.lagMs, boundMs);
            const seen =
              states
                .filter(({ atMs }) => atMs <= seenAtMs)
                .at(-1)
                ?.values.get(next.key) ?? null;
            history.ok('r', boundedGet(next.key, boundMs), interval, getOk(seen));
            return;
          }
          const op = next.kind === 'put' ? put(next.key, `v${index}`) : del(next.key);
          if (next.fate === 'ok' || next.fate === 'unknown-applied') {
            if (next.kind === 'put') values.set(next.key, `v${index}`);
            else values.delete(next.key);
            states.push({ atMs: pointMs, values });
          }
          if (next.fate === 'fail') history.fail('w', op, interval);
          else if (next.fate !== 'ok') history.unknown('w', op, interval);
          else if (op.kind === 'put') history.ok('w', op, interval, putOk());
          else history.ok('w', op, interval, deleteOk());
        });
        const result = checkReadFreshness(history.records, { slackMs: 0 });
        expect(result.anomalies).toEqual([]);
        expect(result.readsChecked.bounded).toBe(steps.filter(({ kind }) => kind === 'read').length);
      }),
      { numRuns: 300 },
    );
  });
});

/** The stale-read rule as written, read by read and writer by writer: what the indexed search must agree with. */
function staleReadsByRule(records: readonly ChaosRecord[], slackMs: number): number[] {
  const { operations } = indexChaosHistory(records);
  const writes = operations.filter((operation) => operation.kind !== 'get' && operation.outcome !== 'fail');
  return operations.flatMap((read) => {
    if (read.kind !== 'get' || read.result === null || read.op.maxStalenessMs === undefined) return [];
    const { value } = read.result;
    const boundMs = read.invokedMs - read.op.maxStalenessMs - slackMs;
    const writerEnds = writes
      .filter((write) => write.invokedMs <= (read.completedMs as number))
      .filter((write) => possibleWrites(write).some((written) => written.value === value))
      .map((write) => write.completedMs ?? Infinity);
    if (value === null) writerEnds.push(-Infinity);
    if (writerEnds.length === 0) return [];
    const overwritten = (writerEndMs: number) =>
      writes.some(
        (write) =>
          appliedWrites(write).some((written) => written.value !== value) &&
          write.invokedMs > writerEndMs &&
          (write.completedMs as number) < boundMs,
      );
    return writerEnds.every(overwritten) ? [read.opId] : [];
  });
}

describe('checkReadFreshness against its rule', () => {
  it('finds exactly the stale bounded reads that checking every writer against every write finds (300 runs)', () => {
    const event = fc.record({
      kind: fc.constantFrom('put', 'delete', 'read', 'read'),
      // Few values, so that reads see values written many times, and overwrites often write the value read.
      value: fc.constantFrom('x', 'y', 'z', null),
      fate: fc.constantFrom('ok', 'ok', 'unknown', 'fail'),
      // Times on a coarse grid, so that ties between invocations, completions and bounds are common.
      invokedMs: fc.integer({ min: 0, max: 40 }).map((tick) => tick * 25),
      durationMs: fc.integer({ min: 0, max: 16 }).map((ticks) => ticks * 25),
      maxStalenessMs: fc.integer({ min: 0, max: 8 }).map((ticks) => ticks * 25),
    });
    fc.assert(
      fc.property(fc.array(event, { maxLength: 40 }), fc.integer({ min: 0, max: 4 }), (events, slackTicks) => {
        const slackMs = slackTicks * 25;
        const history = new ChaosHistoryBuilder();
        for (const { kind, value, fate, invokedMs, durationMs, maxStalenessMs } of events) {
          const interval: [number, number] = [invokedMs, invokedMs + durationMs];
          if (kind === 'read') {
            history.ok('r', boundedGet('k', maxStalenessMs), interval, getOk(value));
            continue;
          }
          const op = kind === 'put' ? put('k', value ?? 'w') : del('k');
          if (fate === 'fail') history.fail('w', op, interval);
          else if (fate === 'unknown') history.unknown('w', op, interval);
          else if (op.kind === 'put') history.ok('w', op, interval, putOk());
          else history.ok('w', op, interval, deleteOk());
        }
        const { records } = history;
        const found = checkReadFreshness(records, { slackMs, anomaliesMax: 1_000 }).anomalies.flatMap((anomaly) =>
          anomaly.kind === 'stale-bounded-read' ? [anomaly.opId] : [],
        );
        expect(found).toEqual(staleReadsByRule(records, slackMs));
      }),
      { numRuns: 300 },
    );
  });
});
