// Terse builders of history operations for hand-written example histories.
import type { HistoryOperation } from '../lib/operation';

/** An operation's interval: [invokedMs, completedMs], completedMs null for an unknown outcome. */
export type Interval = readonly [number, number | null];

function operation(
  fields: Partial<HistoryOperation> & Pick<HistoryOperation, 'op'>,
  [invokedMs, completedMs]: Interval,
): HistoryOperation {
  return {
    client: 'c',
    key: 'x',
    value: null,
    expect: null,
    result: null,
    invokedMs,
    completedMs,
    outcome: completedMs === null ? 'unknown' : 'ok',
    ...fields,
  };
}

export const put = (value: string, interval: Interval, key = 'x'): HistoryOperation =>
  operation({ op: 'put', value, key }, interval);
export const del = (interval: Interval, key = 'x'): HistoryOperation => operation({ op: 'del', key }, interval);
/** A get that read `read` (null: absent); pass interval [t, null] for an unknown outcome (then `read` must be null). */
export const get = (read: string | null, interval: Interval, key = 'x'): HistoryOperation =>
  operation({ op: 'get', result: read, key }, interval);
/** A cas from `expect` to `value` that reported `swapped` (null when the outcome is unknown). */
export const cas = (
  expect: string | null,
  value: string | null,
  swapped: boolean | null,
  interval: Interval,
  key = 'x',
): HistoryOperation => operation({ op: 'cas', expect, value, result: swapped, key }, interval);
/** The same operation, refused by the store: it definitely did not take effect. */
export const failed = (refused: HistoryOperation): HistoryOperation => ({ ...refused, outcome: 'fail', result: null });
