import { InvalidArgumentError } from '@bulwark/errors';
import { numberLiteralsOf } from './number-literals';
import { findProblem, type HistoryOperation } from './operation';
import { timeText, type HistoryTime } from './time';
import { readTimeLiteral } from './time-literal';

// The history file format, one operation a line:
//   {"key":"k","op":"cas","value":"b","expect":"a","result":true,"call":10,"return":12}
// value: put value or cas new value; expect: cas expected value (null:
// absent); result: value read (null: absent) or the cas outcome; return null:
// outcome unknown. "client" is optional. Failed operations are not written:
// they definitely did not take effect, so they cannot change a verdict.
// "call" and "return" are JSON numbers in any one unit, read exactly from
// their source text (see readTimeLiteral), never through a double.

/** Bounds the memory of a parsed history (a few hundred bytes an operation). */
export const historyLinesMax = 10_000_000;

const requiredFields = ['key', 'op', 'value', 'expect', 'result', 'call', 'return'] as const;
const allowedFields = new Set<string>([...requiredFields, 'client']);

/** The file's name for each operation field. */
const fileFieldOf: Record<keyof HistoryOperation<HistoryTime>, string> = {
  client: 'client',
  key: 'key',
  op: 'op',
  value: 'value',
  expect: 'expect',
  result: 'result',
  invokedMs: 'call',
  completedMs: 'return',
  outcome: 'return',
};

function fieldError(lineNumber: number, field: string, problem: string): InvalidArgumentError {
  return new InvalidArgumentError(`line ${lineNumber} field "${field}"`, problem);
}

/** The exact time in a number member that JSON.parse has already read (as a rounded double). */
function timeOf(lineNumber: number, field: 'call' | 'return', literals: Map<string, string>): HistoryTime {
  const literal = literals.get(field);
  if (literal === undefined) throw new Error(`line ${lineNumber}: no source text for the number in "${field}"`);
  const reading = readTimeLiteral(literal);
  if ('problem' in reading) throw fieldError(lineNumber, field, reading.problem);
  return reading.time;
}

function parseLine(line: string, lineNumber: number): HistoryOperation<HistoryTime> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch (error) {
    throw new InvalidArgumentError(`line ${lineNumber}`, `not valid JSON (${(error as Error).message})`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new InvalidArgumentError(`line ${lineNumber}`, 'must be a JSON object');
  }
  const fields = parsed as Record<string, unknown>;
  for (const name of Object.keys(fields)) {
    if (!allowedFields.has(name)) {
      throw fieldError(lineNumber, name, `is not a field of a history line (${[...allowedFields].join(', ')})`);
    }
  }
  for (const name of requiredFields) {
    if (!Object.hasOwn(fields, name)) throw fieldError(lineNumber, name, 'is missing');
  }
  const { call, return: returned } = fields;
  if (typeof call !== 'number') throw fieldError(lineNumber, 'call', `must be a number, got ${JSON.stringify(call)}`);
  if (returned !== null && typeof returned !== 'number') {
    throw fieldError(
      lineNumber,
      'return',
      `must be a number or null (outcome unknown), got ${JSON.stringify(returned)}`,
    );
  }
  const literals = numberLiteralsOf(line);
  const operation = {
    client: fields['client'] ?? '',
    key: fields['key'],
    op: fields['op'],
    value: fields['value'],
    expect: fields['expect'],
    result: fields['result'],
    invokedMs: timeOf(lineNumber, 'call', literals),
    completedMs: returned === null ? null : timeOf(lineNumber, 'return', literals),
    outcome: returned === null ? 'unknown' : 'ok',
  } as HistoryOperation<HistoryTime>;
  const found = findProblem(operation);
  if (found) throw fieldError(lineNumber, fileFieldOf[found.field], found.problem);
  return operation;
}

/**
 * Parses a history file's text. Blank lines are skipped; throws
 * InvalidArgumentError naming the line number and field of the first problem.
 */
export function parseHistoryJsonLines(text: string): HistoryOperation<HistoryTime>[] {
  const lines = text.split('\n');
  const operations: HistoryOperation<HistoryTime>[] = [];
  lines.forEach((line, index) => {
    if (line.trim() === '') return;
    if (operations.length === historyLinesMax) {
      throw new InvalidArgumentError(`line ${index + 1}`, `a history may hold at most ${historyLinesMax} operations`);
    }
    operations.push(parseLine(line, index + 1));
  });
  return operations;
}

/** One operation as a history line (without a newline); times are written exactly (JSON.stringify throws on a bigint). */
export function toHistoryJsonLine(operation: HistoryOperation<HistoryTime>): string {
  const { key, op, value, expect, result, invokedMs, completedMs, client } = operation;
  const fields = JSON.stringify({ key, op, value, expect, result }).slice(0, -1);
  const times = `"call":${timeText(invokedMs)},"return":${completedMs === null ? 'null' : timeText(completedMs)}`;
  return `${fields},${times}${client === '' ? '' : `,"client":${JSON.stringify(client)}`}}`;
}

/** A history file's text: one line per operation that did not fail, each ending in a newline. */
export function formatHistoryJsonLines(history: readonly HistoryOperation<HistoryTime>[]): string {
  return history
    .filter((operation) => operation.outcome !== 'fail')
    .map((operation) => `${toHistoryJsonLine(operation)}\n`)
    .join('');
}
