import { checkLinearizability, type HistoryOperation } from '@bulwark/history';
import { reportVerdict } from './report';

const operation = (fields: Partial<HistoryOperation>): HistoryOperation => ({
  client: '',
  key: 'k',
  op: 'get',
  value: null,
  expect: null,
  result: null,
  invokedMs: 0,
  completedMs: 1,
  outcome: 'ok',
  ...fields,
});

describe('reportVerdict', () => {
  it('reports a linearizable history with exit code 0', () => {
    expect(reportVerdict(checkLinearizability([operation({})]), 1)).toEqual({
      lines: ['linearizable: 1 operation on 1 key (1 search step)'],
      exitCode: 0,
    });
  });

  it('prints the key and the failing prefix as re-checkable lines with exit code 1', () => {
    const history = [operation({ op: 'put', value: 'a' }), operation({ result: null, invokedMs: 5, completedMs: 6 })];
    expect(reportVerdict(checkLinearizability(history), 2)).toEqual({
      lines: [
        'not linearizable: key "k" has no linearization once the operation completing at 6 is known',
        'shortest failing prefix of key "k" (2 operations, not linearizable on its own):',
        '{"key":"k","op":"put","value":"a","expect":null,"result":null,"call":0,"return":1}',
        '{"key":"k","op":"get","value":null,"expect":null,"result":null,"call":5,"return":6}',
      ],
      exitCode: 1,
    });
  });

  it('says which budget ran out with exit code 3', () => {
    const history = [operation({ op: 'put', value: 'a' }), operation({ result: 'a', invokedMs: 5, completedMs: 6 })];
    expect(reportVerdict(checkLinearizability(history, { budget: { stepsMax: 1 } }), 2)).toEqual({
      lines: ['undecided: key "k" after 1 search step: the step budget ran out; allow more with --budget-steps'],
      exitCode: 3,
    });
  });
});
