import { InvalidArgumentError } from '@bulwark/errors';

export const usage = 'usage: check-history FILE [--budget-steps N] [--budget-ms N]';

export interface Arguments {
  readonly file: string;
  /** Search steps before answering undecided; the checker's default when absent. */
  readonly budgetSteps?: number;
  /** Wall-clock milliseconds before answering undecided; no deadline when absent. */
  readonly budgetMs?: number;
}

const options = { '--budget-steps': 'budgetSteps', '--budget-ms': 'budgetMs' } as const;

function isOption(word: string): word is keyof typeof options {
  return Object.hasOwn(options, word);
}

function positiveInteger(option: string, raw: string | undefined): number {
  if (raw === undefined || !/^\d+$/.test(raw) || !Number.isSafeInteger(Number(raw)) || Number(raw) < 1) {
    throw new InvalidArgumentError(
      option,
      `must be a positive integer, got ${raw === undefined ? 'nothing' : `"${raw}"`}`,
    );
  }
  return Number(raw);
}

/** Reads the command line (without node and the script); throws InvalidArgumentError naming the bad argument. */
export function parseArguments(argv: readonly string[]): Arguments {
  let file: string | undefined;
  const budget: { budgetSteps?: number; budgetMs?: number } = {};
  for (let index = 0; index < argv.length; index += 1) {
    const word = argv[index] as string;
    if (isOption(word)) {
      index += 1;
      budget[options[word]] = positiveInteger(word, argv[index]);
    } else if (word.startsWith('--')) {
      throw new InvalidArgumentError(word, 'is not an option');
    } else if (file === undefined) {
      file = word;
    } else {
      throw new InvalidArgumentError('FILE', `only one history file, got "${file}" and "${word}"`);
    }
  }
  if (file === undefined) throw new InvalidArgumentError('FILE', 'is required');
  return { file, ...budget };
}
