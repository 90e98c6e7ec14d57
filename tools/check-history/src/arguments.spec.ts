import { InvalidArgumentError } from '@bulwark/errors';
import { parseArguments } from './arguments';

describe('parseArguments', () => {
  it('takes a file and optional budgets, in any order', () => {
    expect(parseArguments(['h.jsonl'])).toEqual({ file: 'h.jsonl' });
    expect(parseArguments(['--budget-steps', '10', 'h.jsonl', '--budget-ms', '2500'])).toEqual({
      file: 'h.jsonl',
      budgetSteps: 10,
      budgetMs: 2500,
    });
  });

  it.each<[string[], string]>([
    [[], 'FILE: is required'],
    [['a', 'b'], 'FILE: only one history file, got "a" and "b"'],
    [['h', '--budget-steps'], '--budget-steps: must be a positive integer, got nothing'],
    [['h', '--budget-steps', '0'], '--budget-steps: must be a positive integer, got "0"'],
    [['h', '--budget-ms', '1.5'], '--budget-ms: must be a positive integer, got "1.5"'],
    [['h', '--verbose'], '--verbose: is not an option'],
  ])('rejects %j naming the argument', (argv, message) => {
    expect(() => parseArguments(argv)).toThrow(
      new InvalidArgumentError(message.slice(0, message.indexOf(':')), message.slice(message.indexOf(':') + 2)),
    );
  });
});
