import { checkChaosHistory, indexChaosHistory } from '@bulwark/chaos-history';
import { ChaosHistoryBuilder, get, getOk, put, putOk, replica } from '@bulwark/chaos-history/testing';
import { reportFigures } from '@bulwark/chaos-report';
import { chaosVerdict } from './verdict';

const members = ['replica-a1', 'replica-a2', 'replica-a3'];

/** A put acknowledged before a kill of group-a's primary, then optionally one after it, and final reads. */
function history(options: { writeAfterFault: boolean; finalValue?: string }): ChaosHistoryBuilder {
  const builder = new ChaosHistoryBuilder();
  builder.ok('c1', put('k', 'a'), [0, 10], putOk('group-a'));
  builder.fault('kill', [replica('replica-a1', 'group-a', true)], [20, 200]);
  if (options.writeAfterFault) builder.ok('c1', put('k', 'b'), [300, 310], putOk('group-a'));
  builder.ok('c2', get('k'), [320, 330], getOk(options.writeAfterFault ? 'b' : 'a'));
  const value = options.finalValue ?? (options.writeAfterFault ? 'b' : 'a');
  for (const member of members) builder.finalRead('group-a', member, 400, 'digest', { k: value });
  return builder;
}

function verdictOf(builder: ChaosHistoryBuilder, failure?: string) {
  const indexed = indexChaosHistory(builder.records);
  const report = checkChaosHistory(indexed, { asyncLossWindow: { beforeFaultMs: 1_000, afterFaultMs: 1_000 } });
  return chaosVerdict({ report, figures: reportFigures(indexed, report), ...(failure ? { failure } : {}) });
}

describe('chaosVerdict', () => {
  it('passes a run whose checkers found nothing, had writes to judge, and saw writes resume after each fault', () => {
    expect(verdictOf(history({ writeAfterFault: true }))).toEqual({ passed: true, lines: ['anomalies: 0'] });
  });

  it('fails a run with an anomaly, naming the checker and its first anomaly', () => {
    const verdict = verdictOf(history({ writeAfterFault: true, finalValue: 'a' }));
    expect(verdict.passed).toBe(false);
    expect(verdict.lines).toContainEqual(expect.stringMatching(/^ {2}lostSyncWrites: \d+; the first: sync put/));
  });

  it('fails a run without anomalies when a group never took a write again after a fault on its primary', () => {
    const verdict = verdictOf(history({ writeAfterFault: false }));
    expect(verdict).toEqual({
      passed: false,
      lines: [
        'anomalies: 0',
        'unavailable: after 1 of 1 faults on a primary, its group never acknowledged a write again',
      ],
    });
  });

  it('fails a run that stopped early, and one with nothing to judge', () => {
    const stopped = verdictOf(history({ writeAfterFault: true }), 'the fleet did not converge within 60000 ms');
    expect(stopped.passed).toBe(false);
    expect(stopped.lines).toContain('the run stopped early: the fleet did not converge within 60000 ms');

    const empty = verdictOf(new ChaosHistoryBuilder());
    expect(empty.passed).toBe(false);
    expect(empty.lines).toContain('inconclusive: no acknowledged sync write to check against the final reads');
  });

  it('fails a run whose written keys have no final read', () => {
    const builder = new ChaosHistoryBuilder();
    builder.ok('c1', put('k', 'a'), [0, 10], putOk('group-a'));
    expect(verdictOf(builder).lines).toContain('inconclusive: no final read of "k"');
  });
});
