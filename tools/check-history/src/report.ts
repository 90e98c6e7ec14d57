import { timeText, toHistoryJsonLine, type CheckResult } from '@bulwark/history';

/** The command's exit codes; 2 (bad input) is decided before a check runs. */
export const exitCodes = { linearizable: 0, 'not-linearizable': 1, badInput: 2, undecided: 3 } as const;

const howToContinue = {
  steps: 'the step budget ran out; allow more with --budget-steps',
  deadline: 'the time budget ran out; allow more with --budget-ms',
  'memo-bytes': "the key's memo reached its memory limit",
} as const;

const count = (n: number, noun: string) => `${n} ${noun}${n === 1 ? '' : 's'}`;

/** What the command prints on stdout for a verdict, and the exit code that goes with it. */
export function reportVerdict(result: CheckResult, operations: number): { lines: string[]; exitCode: number } {
  switch (result.verdict) {
    case 'linearizable':
      return {
        lines: [
          `linearizable: ${count(operations, 'operation')} on ${count(result.keys, 'key')} (${count(result.steps, 'search step')})`,
        ],
        exitCode: exitCodes.linearizable,
      };
    case 'not-linearizable':
      return {
        lines: [
          `not linearizable: key ${JSON.stringify(result.key)} has no linearization once the operation completing at ${timeText(result.failingAtMs)} is known`,
          `shortest failing prefix of key ${JSON.stringify(result.key)} (${count(result.failingPrefix.length, 'operation')}, not linearizable on its own):`,
          ...result.failingPrefix.map(toHistoryJsonLine),
        ],
        exitCode: exitCodes['not-linearizable'],
      };
    case 'undecided':
      return {
        lines: [
          `undecided: key ${JSON.stringify(result.key)} after ${count(result.steps, 'search step')}: ${howToContinue[result.reason]}`,
        ],
        exitCode: exitCodes.undecided,
      };
  }
}
