// The text `bulwark txn` reads, after etcdctl's interactive txn: compares,
// a blank line, the ops to run when every compare holds, a blank line, the
// ops to run otherwise.
//
//   # user 1 is new, and not marked done
//   version("user:{1}:name") = 0
//   value(user:{1}:state) != "done"
//
//   put user:{1}:name Ada
//   del user:{1}:pending
//
//   put user:{1}:conflict "name taken"
//
// Compares: version(KEY) OP N, with OP one of = != < >; value(KEY) OP TEXT,
// with = or !=. Ops: put KEY VALUE, del KEY. A KEY, VALUE or TEXT is a word
// without spaces, quotes or parentheses, or a JSON string ("a b", "\n").
// Lines that start with # are comments; blank lines at the end are ignored.
import type { CompareOperator, Txn, TxnCompare, TxnOp } from '@bulwark/kv-client';
import { parseUint64 } from './arguments';
import { UsageError } from './exit-codes';

const token = String.raw`("(?:[^"\\]|\\.)*"|[^\s"()]+)`;
const compareLine = new RegExp(String.raw`^(\w+)\(\s*${token}\s*\)\s*(==|=|!=|<|>)\s*${token}$`);
const opLine = new RegExp(String.raw`^(\w+)(?:\s+${token})?(?:\s+${token})?$`);

const operators: Readonly<Record<string, CompareOperator>> = {
  '=': 'equal',
  '==': 'equal',
  '!=': 'not-equal',
  '<': 'less',
  '>': 'greater',
};

const sectionNames = ['compares', 'success ops', 'failure ops'] as const;

export function parseTxn(text: string): Txn {
  const lines = text.split(/\r?\n/);
  while (lines.length > 0 && (lines[lines.length - 1] as string).trim() === '') lines.pop();
  const compares: TxnCompare[] = [];
  const branches: [TxnOp[], TxnOp[]] = [[], []];
  let section = 0;
  for (const [index, raw] of lines.entries()) {
    const line = raw.trim();
    const at = `txn line ${index + 1}`;
    if (line.startsWith('#')) continue;
    if (line === '') {
      section += 1;
      if (section >= sectionNames.length) {
        throw new UsageError(`${at}: a fourth section; a txn has ${sectionNames.join(', ')}, split by blank lines`);
      }
      continue;
    }
    if (section === 0) compares.push(compareOf(line, at));
    else branches[section - 1]?.push(opOf(line, at));
  }
  return { compares, success: branches[0], failure: branches[1] };
}

function compareOf(line: string, at: string): TxnCompare {
  const match = compareLine.exec(line);
  if (!match) {
    throw new UsageError(`${at}: expected a compare such as version(KEY) = 0 or value(KEY) != TEXT, got ${line}`);
  }
  const [, target, rawKey, symbol, rawOperand] = match as unknown as [string, string, string, string, string];
  const key = word(rawKey, at);
  const operator = operators[symbol] as CompareOperator;
  const operand = word(rawOperand, at);
  if (target === 'version') {
    try {
      return { key, target, operator, version: parseUint64(operand) };
    } catch (error) {
      throw new UsageError(`${at}: the version ${(error as Error).message}`);
    }
  }
  if (target === 'value') {
    if (operator !== 'equal' && operator !== 'not-equal') {
      throw new UsageError(`${at}: a value compare takes = or !=, got ${symbol}`);
    }
    return { key, target, operator, value: operand };
  }
  throw new UsageError(`${at}: unknown compare target "${target}"; use version(KEY) or value(KEY)`);
}

function opOf(line: string, at: string): TxnOp {
  const match = opLine.exec(line);
  const [, name, rawKey, rawValue] = (match ?? []) as unknown as [string, string?, string?, string?];
  if (match && name === 'put' && rawKey !== undefined && rawValue !== undefined) {
    return { type: 'put', key: word(rawKey, at), value: word(rawValue, at) };
  }
  if (match && (name === 'del' || name === 'delete') && rawKey !== undefined && rawValue === undefined) {
    return { type: 'delete', key: word(rawKey, at) };
  }
  throw new UsageError(`${at}: expected put KEY VALUE or del KEY, got ${line}`);
}

/** A bare word as it is, a JSON string decoded. */
function word(raw: string, at: string): string {
  if (!raw.startsWith('"')) return raw;
  try {
    return JSON.parse(raw) as string;
  } catch {
    throw new UsageError(`${at}: ${raw} is not a valid JSON string`);
  }
}
