// check-history FILE: is a recorded history of key-value operations
// linearizable? Exit 0 yes, 1 no (with the key and the shortest failing
// prefix), 2 bad input (one line naming the line and field), 3 undecided
// (the search budget ran out).
import { readFileSync, statSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { BulwarkError } from '@bulwark/errors';
import { checkLinearizability, parseHistoryJsonLines, type CheckBudget } from '@bulwark/history';
import { parseArguments, usage, type Arguments } from './arguments';
import { exitCodes, reportVerdict } from './report';

/** Node strings top out near 512 MiB; refuse early with a clear line instead of crashing. */
const fileBytesMax = 256 * 1024 * 1024;

function readHistoryFile(file: string): string {
  const bytes = statSync(file).size;
  if (bytes > fileBytesMax) throw new Error(`${bytes} bytes is more than the ${fileBytesMax} this command reads`);
  return readFileSync(file, 'utf8');
}

function budgetOf(args: Arguments): CheckBudget {
  const deadline =
    args.budgetMs === undefined
      ? undefined
      : { atMs: performance.now() + args.budgetMs, nowMs: () => performance.now() };
  return { stepsMax: args.budgetSteps, deadline };
}

function run(argv: readonly string[]): number {
  let args: Arguments;
  try {
    args = parseArguments(argv);
  } catch (error) {
    console.error(`check-history: ${(error as Error).message}\n${usage}`);
    return exitCodes.badInput;
  }
  let text: string;
  try {
    text = readHistoryFile(args.file);
  } catch (error) {
    console.error(`check-history: cannot read ${args.file}: ${(error as Error).message}`);
    return exitCodes.badInput;
  }
  try {
    const history = parseHistoryJsonLines(text);
    const { lines, exitCode } = reportVerdict(
      checkLinearizability(history, { budget: budgetOf(args) }),
      history.length,
    );
    console.log(lines.join('\n'));
    return exitCode;
  } catch (error) {
    if (!(error instanceof BulwarkError)) throw error;
    console.error(`check-history: ${args.file} ${error.message}`);
    return exitCodes.badInput;
  }
}

process.exitCode = run(process.argv.slice(2));
