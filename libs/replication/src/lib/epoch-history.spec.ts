import fc from 'fast-check';
import { agreedThrough, EpochHistory, type LogShape } from './epoch-history';

/** A log as the epoch that wrote each entry, sequence 1 first. */
type Tags = bigint[];

function shapeOf(tags: Tags): LogShape {
  const history = new EpochHistory();
  tags.forEach((epoch, index) => history.noteAppend(epoch, BigInt(index + 1)));
  return { history, lastSequence: BigInt(tags.length) };
}

/**
 * Group histories as they happen: each epoch's primary starts from a prefix
 * of some earlier epoch's log (what it had when it took over) and appends;
 * a replica's log is a prefix of some epoch's log.
 */
const forkedLogs = fc
  .array(fc.record({ base: fc.nat(), keep: fc.nat(), appended: fc.nat({ max: 6 }) }), { minLength: 1, maxLength: 12 })
  .chain((epochs) => {
    const logs: Tags[] = [[]];
    epochs.forEach(({ base, keep, appended }, index) => {
      const from = logs[base % logs.length] as Tags;
      const prefix = from.slice(0, keep % (from.length + 1));
      logs.push([...prefix, ...Array.from({ length: appended }, () => BigInt(index + 1))]);
    });
    const replica = fc.tuple(fc.nat({ max: logs.length - 1 }), fc.nat()).map(([which, cut]) => {
      const log = logs[which] as Tags;
      return log.slice(0, cut % (log.length + 1));
    });
    return fc.tuple(replica, replica);
  });

function commonPrefix(a: Tags, b: Tags): number {
  let length = 0;
  while (length < a.length && length < b.length && a[length] === b[length]) length++;
  return length;
}

describe('agreedThrough', () => {
  it('is the longest prefix on which the same epoch wrote both logs, for any history of failovers', () => {
    fc.assert(
      fc.property(forkedLogs, ([primary, backup]) => {
        expect(agreedThrough(shapeOf(primary), shapeOf(backup))).toBe(BigInt(commonPrefix(primary, backup)));
      }),
      { numRuns: 2_000 },
    );
  });

  it('keeps a backup behind in the same epoch whole, and truncates a deposed primary’s suffix', () => {
    // Epoch 1 wrote 1-5; epoch 2's primary took over with 1-3 and wrote 4-6.
    const primary = shapeOf([1n, 1n, 1n, 2n, 2n, 2n]);
    expect(agreedThrough(primary, shapeOf([1n, 1n]))).toBe(2n);
    expect(agreedThrough(primary, shapeOf([1n, 1n, 1n, 1n, 1n]))).toBe(3n);
    expect(agreedThrough(primary, shapeOf([1n, 1n, 1n, 2n, 2n, 2n, 2n]))).toBe(6n);
    expect(agreedThrough(primary, shapeOf([]))).toBe(0n);
  });
});

describe('EpochHistory', () => {
  it('tells the epoch of every sequence and forgets epochs a truncation removed', () => {
    const history = EpochHistory.from([
      { epoch: 1n, firstSequence: 1n },
      { epoch: 4n, firstSequence: 6n },
      { epoch: 7n, firstSequence: 9n },
    ]);
    expect([0n, 1n, 5n, 6n, 8n, 9n, 100n].map((sequence) => history.epochAt(sequence))).toEqual([
      0n,
      1n,
      1n,
      4n,
      4n,
      7n,
      7n,
    ]);
    history.truncateAfter(8n);
    expect(history.list).toEqual([
      { epoch: 1n, firstSequence: 1n },
      { epoch: 4n, firstSequence: 6n },
    ]);
    expect(history.lastEpoch).toBe(4n);
  });

  it('refuses a history that goes back in epoch or sequence, or does not start at sequence 1', () => {
    expect(() => EpochHistory.from([{ epoch: 1n, firstSequence: 2n }])).toThrow(RangeError);
    const history = EpochHistory.from([{ epoch: 3n, firstSequence: 1n }]);
    expect(() => history.noteAppend(2n, 5n)).toThrow(/older than/);
    expect(() => history.noteAppend(4n, 1n)).toThrow(/not after/);
    history.noteAppend(3n, 2n);
    expect(history.list).toHaveLength(1);
  });
});
