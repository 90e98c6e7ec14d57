import { FailedPreconditionError, InvalidArgumentError, ResourceExhaustedError } from '@bulwark/errors';
import { checkLinearizability } from './checker/check-linearizability';
import { parseHistoryJsonLines } from './json-lines';
import { HistoryRecorder } from './recorder';

/** A clock the test moves by hand. */
function manualClock(): { nowMs: () => number; advance: (ms: number) => void } {
  let now = 0;
  return { nowMs: () => now, advance: (ms) => (now += ms) };
}

describe('HistoryRecorder', () => {
  it('records invocation and completion times from the injected clock, with each outcome', () => {
    const clock = manualClock();
    const recorder = new HistoryRecorder(clock.nowMs);
    const write = recorder.invoke({ client: 'c1', key: 'k', op: 'put', value: 'a' });
    clock.advance(5);
    const read = recorder.invoke({ client: 'c2', key: 'k', op: 'get' });
    clock.advance(5);
    write.ok();
    read.ok('a');
    const refused = recorder.invoke({ client: 'c3', key: 'k', op: 'cas', expect: 'z', value: 'b' });
    clock.advance(1);
    refused.fail();
    recorder.invoke({ client: 'c4', key: 'k', op: 'del' }).unknown();
    expect(recorder.operations).toEqual([
      {
        client: 'c1',
        key: 'k',
        op: 'put',
        value: 'a',
        expect: null,
        result: null,
        invokedMs: 0,
        completedMs: 10,
        outcome: 'ok',
      },
      {
        client: 'c2',
        key: 'k',
        op: 'get',
        value: null,
        expect: null,
        result: 'a',
        invokedMs: 5,
        completedMs: 10,
        outcome: 'ok',
      },
      {
        client: 'c3',
        key: 'k',
        op: 'cas',
        value: 'b',
        expect: 'z',
        result: null,
        invokedMs: 10,
        completedMs: 11,
        outcome: 'fail',
      },
      {
        client: 'c4',
        key: 'k',
        op: 'del',
        value: null,
        expect: null,
        result: null,
        invokedMs: 11,
        completedMs: null,
        outcome: 'unknown',
      },
    ]);
  });

  it('counts an operation that never completed as unknown', () => {
    const recorder = new HistoryRecorder(() => 7);
    recorder.invoke({ client: 'c', key: 'k', op: 'put', value: 'a' });
    expect(recorder.operations[0]).toMatchObject({ outcome: 'unknown', completedMs: null, result: null });
  });

  it('refuses a second outcome and a result that does not fit the operation', () => {
    const recorder = new HistoryRecorder(() => 0);
    const read = recorder.invoke({ client: 'c', key: 'k', op: 'get' });
    expect(() => read.ok(true)).toThrow(
      new InvalidArgumentError('result', 'must be a string or null for a get, got true'),
    );
    read.ok(null);
    expect(() => read.fail()).toThrow(FailedPreconditionError);
    expect(() => recorder.invoke({ client: 'c', key: 'k', op: 'put' })).toThrow(
      new InvalidArgumentError('value', 'must be a string for a put, got null'),
    );
  });

  it('holds at most operationsMax operations', () => {
    const recorder = new HistoryRecorder(() => 0, 2);
    recorder.invoke({ client: 'c', key: 'k', op: 'del' });
    recorder.invoke({ client: 'c', key: 'k', op: 'del' });
    expect(() => recorder.invoke({ client: 'c', key: 'k', op: 'del' })).toThrow(ResourceExhaustedError);
  });

  it('exports the check-history format, which the checker judges like the recorded history', () => {
    const clock = manualClock();
    const recorder = new HistoryRecorder(clock.nowMs);
    const write = recorder.invoke({ client: 'c1', key: 'k', op: 'put', value: 'a' });
    clock.advance(10);
    write.ok();
    const lost = recorder.invoke({ client: 'c1', key: 'k', op: 'put', value: 'b' });
    clock.advance(10);
    lost.unknown();
    const read = recorder.invoke({ client: 'c2', key: 'k', op: 'get' });
    clock.advance(10);
    read.ok('a');
    const exported = parseHistoryJsonLines(recorder.toJsonLines());
    expect(exported).toEqual(recorder.operations);
    expect(checkLinearizability(exported).verdict).toBe('linearizable');
  });
});
