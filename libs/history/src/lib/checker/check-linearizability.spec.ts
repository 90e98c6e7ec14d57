import { InvalidArgumentError } from '@bulwark/errors';
import { cas, del, failed, get, put } from '../../testing/operations';
import type { HistoryOperation } from '../operation';
import { checkLinearizability } from './check-linearizability';

const verdict = (history: HistoryOperation[]) => checkLinearizability(history).verdict;

describe('checkLinearizability: violations', () => {
  it('rejects a stale read: a get returns a value overwritten before it began', () => {
    const history = [put('a', [0, 10]), put('b', [20, 30]), get('a', [40, 50])];
    expect(checkLinearizability(history)).toMatchObject({
      verdict: 'not-linearizable',
      key: 'x',
      failingPrefix: history,
    });
  });

  it('rejects a lost write: an acknowledged put that a later read does not see', () => {
    expect(verdict([put('a', [0, 10]), put('b', [20, 30]), get('a', [40, 50])])).toBe('not-linearizable');
    expect(verdict([put('a', [0, 10]), get(null, [20, 30])])).toBe('not-linearizable');
    // Two clients' writes both acknowledged, then reads see one value and then the other.
    expect(verdict([put('a', [0, 10]), put('b', [0, 10]), get('a', [20, 30]), get('b', [40, 50])])).toBe(
      'not-linearizable',
    );
  });

  it('rejects a CAS applied twice: two swaps from the same expected value both succeed', () => {
    const concurrent = [put('0', [0, 5]), cas('0', '1', true, [10, 20]), cas('0', '1', true, [12, 22])];
    expect(verdict(concurrent)).toBe('not-linearizable');
    const retried = [put('0', [0, 5]), cas('0', '1', true, [10, 20]), cas('0', '1', true, [30, 40])];
    expect(verdict(retried)).toBe('not-linearizable');
  });

  it('rejects reads of a value nobody wrote, a failed CAS that should have swapped, and a read that goes back in time', () => {
    expect(verdict([get('ghost', [0, 10])])).toBe('not-linearizable');
    expect(verdict([put('a', [0, 10]), cas('a', 'b', false, [20, 30])])).toBe('not-linearizable');
    expect(verdict([put('a', [0, 10]), put('b', [5, 30]), get('b', [12, 14]), get('a', [16, 18])])).toBe(
      'not-linearizable',
    );
  });

  it('treats a failed operation as one that never happened', () => {
    expect(verdict([failed(put('a', [0, 10])), get('a', [20, 30])])).toBe('not-linearizable');
    expect(verdict([failed(put('a', [0, 10])), get(null, [20, 30])])).toBe('linearizable');
  });
});

describe('checkLinearizability: legal histories', () => {
  it('accepts overlapping operations in any order their intervals allow', () => {
    const history = [
      put('a', [0, 100]),
      put('b', [10, 90]),
      get('b', [20, 30]),
      get('a', [40, 50]),
      cas('a', 'c', true, [45, 120]),
      get('c', [130, 140]),
      del([150, 160]),
      get(null, [170, 180]),
      cas(null, 'd', true, [175, 190]),
    ];
    expect(verdict(history)).toBe('linearizable');
  });

  it('counts an operation invoked at the very time another returned as concurrent with it', () => {
    expect(verdict([put('a', [0, 10]), get(null, [10, 20])])).toBe('linearizable');
    expect(verdict([put('a', [0, 10]), get(null, [11, 20])])).toBe('not-linearizable');
  });

  it('lets an unknown write take effect much later, or never, but only once', () => {
    const late = put('late', [0, null]);
    expect(verdict([late, get(null, [100, 110]), get('late', [1000, 1010]), get('late', [2000, 2010])])).toBe(
      'linearizable',
    );
    expect(verdict([late, get(null, [100, 110]), get(null, [1000, 1010])])).toBe('linearizable');
    expect(verdict([late, put('b', [10, 20]), get('late', [30, 40]), get('b', [50, 60])])).toBe('not-linearizable');
    // It cannot take effect before it was invoked.
    expect(verdict([get('late2', [0, 10]), put('late2', [20, null])])).toBe('not-linearizable');
  });

  it('lets an unknown CAS either swap or not', () => {
    const setup = put('a', [0, 10]);
    expect(verdict([setup, cas('a', 'b', null, [20, null]), get('b', [30, 40])])).toBe('linearizable');
    expect(verdict([setup, cas('a', 'b', null, [20, null]), get('a', [30, 40])])).toBe('linearizable');
    expect(verdict([setup, cas('x', 'b', null, [20, null]), get('b', [30, 40])])).toBe('not-linearizable');
  });

  it('accepts a heavily concurrent history of eight clients with unknown outcomes', () => {
    const history: HistoryOperation[] = [];
    for (let client = 0; client < 8; client += 1) {
      history.push({ ...put(`w${client}`, [client, client % 3 === 0 ? null : 100 + client]), client: `c${client}` });
    }
    // Every read overlaps every write; each may see any written value, or absent.
    ['w0', 'w1', 'w7', null, 'w3', 'w6'].forEach((read, index) => history.push(get(read, [2 + index, 95])));
    history.push(get('w3', [120, 130]), get('w3', [140, 150]), cas('w3', 'z', true, [150, 160]), get('z', [170, 180]));
    expect(checkLinearizability(history)).toMatchObject({ verdict: 'linearizable', keys: 1 });
  });

  it('checks keys independently: each key is its own register', () => {
    const history = [put('a', [0, 10], 'k1'), get(null, [20, 30], 'k2'), get('a', [20, 30], 'k1')];
    expect(checkLinearizability(history)).toMatchObject({ verdict: 'linearizable', keys: 2 });
    const stale = [...history, put('b', [40, 50], 'k2'), put('c', [60, 70], 'k2'), get('b', [80, 90], 'k2')];
    expect(checkLinearizability(stale)).toMatchObject({ verdict: 'not-linearizable', key: 'k2' });
  });

  it('accepts the empty history', () => {
    expect(checkLinearizability([])).toEqual({ verdict: 'linearizable', keys: 0, steps: 0 });
  });
});

describe('checkLinearizability: budget and input', () => {
  // Eight concurrent writes nobody observed and a final read: plenty of orders to explore.
  const busy = [...Array.from({ length: 8 }, (_, index) => put(`w${index}`, [index, 100])), get('w0', [200, 210])];

  it('answers undecided, naming the key, when the step budget runs out', () => {
    expect(checkLinearizability(busy, { budget: { stepsMax: 5 } })).toEqual({
      verdict: 'undecided',
      key: 'x',
      reason: 'steps',
      steps: 5,
    });
    expect(verdict(busy)).toBe('linearizable');
  });

  it('answers undecided when the injected clock passes the deadline', () => {
    let now = 0;
    const clock = () => (now += 1);
    expect(checkLinearizability(busy, { budget: { deadline: { atMs: 1, nowMs: clock } } })).toMatchObject({
      verdict: 'undecided',
      reason: 'deadline',
    });
  });

  it('answers undecided when one key memo would outgrow memoBytesMax', () => {
    expect(checkLinearizability(busy, { budget: { memoBytesMax: 200 } })).toMatchObject({
      verdict: 'undecided',
      reason: 'memo-bytes',
    });
  });

  it('names the first malformed field and rejects a bad budget', () => {
    const wrong = { ...get('a', [0, 10]), result: true };
    expect(() => checkLinearizability([put('a', [0, 1]), wrong])).toThrow(
      new InvalidArgumentError('history[1].result', 'must be a string or null for a get, got true'),
    );
    expect(() => checkLinearizability([], { budget: { stepsMax: 0 } })).toThrow(
      new InvalidArgumentError('budget.stepsMax', 'must be a positive integer, got 0'),
    );
  });
});
