import { compareNumbers } from '../compare';
import type { HistoryOperation } from '../operation';
import { scaledTime, unitsAtScale, type HistoryTime } from '../time';

/**
 * A history whose times are numbers that order exactly as the recorded times
 * do, so the search compares them cheaply, with the way back to what was
 * recorded for the report.
 */
export interface ComparableHistory<Time extends HistoryTime> {
  readonly operations: readonly HistoryOperation[];
  /** The recorded operation that one of `operations` stands for. */
  recordedOperation(operation: HistoryOperation): HistoryOperation<Time>;
  /** The recorded time that a time of `operations` stands for. */
  recordedTime(time: number): Time;
}

function hasNumberTimes(history: readonly HistoryOperation<HistoryTime>[]): history is readonly HistoryOperation[] {
  return history.every(
    ({ invokedMs, completedMs }) =>
      typeof invokedMs === 'number' && (completedMs === null || typeof completedMs === 'number'),
  );
}

/**
 * Numbers compare exactly among themselves, so a history of numbers (an
 * in-process clock) is used as it is. Any other history has every time
 * replaced by its rank among the history's distinct times: converted to
 * exact integers at one common scale once, sorted once, then the search
 * compares small numbers. Equal times get equal ranks, whatever their kinds.
 * Times must be valid (findProblem); Infinity is left for unknown returns.
 */
export function comparableHistory<Time extends HistoryTime>(
  history: readonly HistoryOperation<Time>[],
): ComparableHistory<Time> {
  if (hasNumberTimes(history)) {
    return {
      operations: history,
      recordedOperation: (operation) => operation as HistoryOperation<Time>,
      recordedTime: (time) => time as Time,
    };
  }
  // Slot 2i is operation i's invocation, slot 2i + 1 its completion (none when unknown).
  const slots = history.flatMap((operation, index) =>
    operation.completedMs === null ? [2 * index] : [2 * index, 2 * index + 1],
  );
  const timeAt = (slot: number): Time => {
    const operation = history[slot >> 1] as HistoryOperation<Time>;
    return slot & 1 ? (operation.completedMs as Time) : operation.invokedMs;
  };
  const scaled = slots.map((slot) => scaledTime(timeAt(slot)));
  const scale = scaled.reduce((most, time) => Math.max(most, time.scale), 0);
  const keys = scaled.map((time) => unitsAtScale(time, scale));
  const order = slots.map((_, index) => index).sort((a, b) => compareNumbers(keys[a] as bigint, keys[b] as bigint));
  const rankOfSlot = new Float64Array(2 * history.length);
  const timeOfRank: Time[] = [];
  order.forEach((index, position) => {
    const previous = order[position - 1];
    if (previous === undefined || keys[previous] !== keys[index]) timeOfRank.push(timeAt(slots[index] as number));
    rankOfSlot[slots[index] as number] = timeOfRank.length - 1;
  });
  const operations = history.map((operation, index) => ({
    ...operation,
    invokedMs: rankOfSlot[2 * index] as number,
    completedMs: operation.completedMs === null ? null : (rankOfSlot[2 * index + 1] as number),
  }));
  const recorded = new Map(operations.map((operation, index) => [operation, history[index] as HistoryOperation<Time>]));
  return {
    operations,
    recordedOperation: (operation) => {
      const found = recorded.get(operation);
      if (found === undefined) throw new Error('not an operation of this comparable history');
      return found;
    },
    recordedTime: (time) => {
      const found = timeOfRank[time];
      if (found === undefined) throw new Error(`no recorded time has rank ${time}`);
      return found;
    },
  };
}
