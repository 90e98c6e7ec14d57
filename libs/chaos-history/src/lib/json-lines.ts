import { InvalidArgumentError } from '@bulwark/errors';
import { FieldReader } from './field-reader';
import { indexChaosHistory } from './history-index';
import {
  compareOperators,
  consistencies,
  durabilities,
  operationKinds,
  type ChaosRecord,
  type ChaosRecordType,
  type Consistency,
  type Fence,
  type FaultTarget,
  type LogPosition,
  type Operation,
  type OperationResult,
  type TxnCompare,
  type TxnWrite,
} from './records';

// The chaos history file: one record a line, as JSON. uint64s (tokens,
// versions, epochs, sequences) are decimal strings, since a JSON number is
// read as a double; final-read values are a JSON object from key to value
// (null: absent). Parsing checks every field and the history's shape (each
// completion after its invocation, each fault end after its start) and names
// the line and field of the first problem.

/** Bounds the memory of a parsed history (a few hundred bytes a record). */
export const chaosLinesMax = 10_000_000;

const recordTypes: readonly ChaosRecordType[] = [
  'invoke',
  'ok',
  'fail',
  'unknown',
  'fault',
  'final-read',
  'final-read-failed',
];

/** Fault kinds are words the chaos tool names: lower-case letters and digits joined by '-'. */
const faultKindPattern = /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/;

function readFence(reader: FieldReader): Fence | undefined {
  const fields = reader.optionalObject('fence');
  if (fields === undefined) return undefined;
  const fence = { lockName: fields.name('lockName'), token: fields.uint64('token') };
  fields.finish();
  return fence;
}

/** The optional fields of a write, present only when set. */
function readWriteOptions(reader: FieldReader, withExpectedVersion: boolean) {
  const expectedVersion = withExpectedVersion ? reader.optionalUint64('expectedVersion') : undefined;
  const fence = readFence(reader);
  return { ...(expectedVersion === undefined ? {} : { expectedVersion }), ...(fence === undefined ? {} : { fence }) };
}

function readCompare(reader: FieldReader): TxnCompare {
  const key = reader.name('key');
  const target = reader.oneOf('target', ['version', 'value'] as const);
  const operator = reader.oneOf('operator', compareOperators);
  return target === 'version'
    ? { key, target, operator, version: reader.uint64('version') }
    : { key, target, operator, value: reader.string('value') };
}

function readTxnWrite(reader: FieldReader): TxnWrite {
  const type = reader.oneOf('type', ['put', 'delete'] as const);
  const key = reader.name('key');
  return type === 'put' ? { type, key, value: reader.string('value') } : { type, key };
}

function readAll<T>(readers: FieldReader[], read: (reader: FieldReader) => T): T[] {
  return readers.map((reader) => {
    const item = read(reader);
    reader.finish();
    return item;
  });
}

/** A get's optional bound: a finite number of at least 0, on bounded reads only (older histories leave it out). */
function readMaxStaleness(reader: FieldReader, consistency: Consistency): number | undefined {
  if (!reader.has('maxStalenessMs')) return undefined;
  const maxStalenessMs = reader.finiteNumber('maxStalenessMs');
  if (maxStalenessMs < 0) reader.fail('maxStalenessMs', `must be at least 0, got ${maxStalenessMs}`);
  if (consistency !== 'bounded') {
    reader.fail('maxStalenessMs', `is for bounded reads only, not ${consistency} ones: leave it out`);
  }
  return maxStalenessMs;
}

function readOperation(reader: FieldReader): Operation {
  const kind = reader.oneOf('kind', operationKinds);
  switch (kind) {
    case 'put':
      return {
        kind,
        key: reader.name('key'),
        value: reader.string('value'),
        durability: reader.oneOf('durability', durabilities),
        ...readWriteOptions(reader, true),
      };
    case 'get': {
      const key = reader.name('key');
      const consistency = reader.oneOf('consistency', consistencies);
      const maxStalenessMs = readMaxStaleness(reader, consistency);
      return { kind, key, consistency, ...(maxStalenessMs === undefined ? {} : { maxStalenessMs }) };
    }
    case 'delete':
      return {
        kind,
        key: reader.name('key'),
        durability: reader.oneOf('durability', durabilities),
        ...readWriteOptions(reader, true),
      };
    case 'cas':
      return {
        kind,
        key: reader.name('key'),
        expect: reader.nullableString('expect'),
        value: reader.string('value'),
        durability: reader.oneOf('durability', durabilities),
        ...readWriteOptions(reader, false),
      };
    case 'txn':
      return {
        kind,
        compares: readAll(reader.objects('compares'), readCompare),
        success: readAll(reader.objects('success'), readTxnWrite),
        failure: readAll(reader.objects('failure'), readTxnWrite),
        durability: reader.oneOf('durability', durabilities),
        ...readWriteOptions(reader, false),
      };
    case 'lock-acquire':
      return { kind, name: reader.name('name'), owner: reader.name('owner'), ttlMs: reader.integer('ttlMs', 1) };
    case 'lock-release':
      return { kind, name: reader.name('name'), owner: reader.name('owner'), token: reader.uint64('token') };
  }
}

/** A write's log position, present only when the result has one: both fields or neither, each at least 1. */
function readLogPosition(reader: FieldReader): LogPosition {
  const epoch = reader.optionalUint64('epoch');
  const sequence = reader.optionalUint64('sequence');
  if (epoch === undefined && sequence === undefined) return {};
  if (epoch === undefined) return reader.fail('epoch', 'is missing: a result with a sequence has an epoch too');
  if (sequence === undefined) return reader.fail('sequence', 'is missing: a result with an epoch has a sequence too');
  // The header's 0 means "none": a result without a position leaves both fields out.
  if (epoch === 0n) reader.fail('epoch', 'must be at least "1" (leave both out when unknown), got "0"');
  if (sequence === 0n) reader.fail('sequence', 'must be at least "1" (leave both out when unknown), got "0"');
  return { epoch, sequence };
}

function readResult(reader: FieldReader): OperationResult {
  const kind = reader.oneOf('kind', operationKinds);
  switch (kind) {
    case 'put':
      return {
        kind,
        succeeded: reader.boolean('succeeded'),
        version: reader.uint64('version'),
        group: reader.name('group'),
        ...readLogPosition(reader),
      };
    case 'get':
      return {
        kind,
        value: reader.nullableString('value'),
        version: reader.uint64('version'),
        member: reader.name('member'),
      };
    case 'delete':
      return {
        kind,
        succeeded: reader.boolean('succeeded'),
        existed: reader.boolean('existed'),
        group: reader.name('group'),
        ...readLogPosition(reader),
      };
    case 'cas':
    case 'txn':
      return {
        kind,
        succeeded: reader.boolean('succeeded'),
        group: reader.name('group'),
        ...readLogPosition(reader),
      };
    case 'lock-acquire':
      return reader.boolean('acquired')
        ? {
            kind,
            acquired: true,
            token: reader.uint64('token'),
            validUntilMonoMs: reader.finiteNumber('validUntilMonoMs'),
          }
        : { kind, acquired: false };
    case 'lock-release':
      return { kind };
  }
}

function readTarget(reader: FieldReader): FaultTarget {
  const member = reader.name('member');
  const group = reader.nullableString('group');
  if (group === '') reader.fail('group', 'must be a group id or null (not a replica), not empty');
  return { member, group, primary: reader.boolean('primary') };
}

function readRecord(reader: FieldReader): ChaosRecord {
  const type = reader.oneOf('type', recordTypes);
  switch (type) {
    case 'invoke':
    case 'ok':
    case 'fail':
    case 'unknown': {
      const ids = {
        opId: reader.integer('opId', 0),
        client: reader.name('client'),
        wallMs: reader.finiteNumber('wallMs'),
        monoMs: reader.finiteNumber('monoMs'),
      };
      if (type === 'invoke') return { type, ...ids, op: readChecked(reader.object('op'), readOperation) };
      if (type === 'ok') return { type, ...ids, result: readChecked(reader.object('result'), readResult) };
      return { type, ...ids, error: reader.string('error') };
    }
    case 'fault': {
      const faultId = reader.integer('faultId', 0);
      const phase = reader.oneOf('phase', ['start', 'end'] as const);
      const wallMs = reader.finiteNumber('wallMs');
      const monoMs = reader.finiteNumber('monoMs');
      const kind = reader.string('kind');
      if (!faultKindPattern.test(kind)) {
        reader.fail(
          'kind',
          `must be lower-case words joined by '-' (such as kill, clock-skew), got ${JSON.stringify(kind)}`,
        );
      }
      return {
        type,
        faultId,
        phase,
        wallMs,
        monoMs,
        kind,
        targets: readAll(reader.objects('targets'), readTarget),
        detail: reader.string('detail'),
      };
    }
    case 'final-read':
    case 'final-read-failed': {
      const where = {
        group: reader.name('group'),
        member: reader.name('member'),
        wallMs: reader.finiteNumber('wallMs'),
        monoMs: reader.finiteNumber('monoMs'),
      };
      return type === 'final-read'
        ? { type, ...where, digest: reader.name('digest'), values: reader.nullableStringMap('values') }
        : { type, ...where, error: reader.string('error') };
    }
  }
}

function readChecked<T>(reader: FieldReader, read: (reader: FieldReader) => T): T {
  const value = read(reader);
  reader.finish();
  return value;
}

/** One record from its line; `where` names it in errors ("line 12"). Does not check it against other records. */
export function parseChaosRecord(line: string, where: string): ChaosRecord {
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch (error) {
    throw new InvalidArgumentError(where, `not valid JSON (${(error as Error).message})`);
  }
  return readChecked(FieldReader.of(parsed, where), readRecord);
}

/**
 * A chaos history file's records. Blank lines are skipped. Throws
 * InvalidArgumentError naming the line number and field of the first
 * problem, within a line or against earlier lines (a completion without an
 * invocation, a second completion, a fault end without its start).
 */
export function parseChaosHistory(text: string): ChaosRecord[] {
  const records: ChaosRecord[] = [];
  const lineNumbers: number[] = [];
  text.split('\n').forEach((line, index) => {
    if (line.trim() === '') return;
    if (records.length === chaosLinesMax) {
      throw new InvalidArgumentError(`line ${index + 1}`, `a history may hold at most ${chaosLinesMax} records`);
    }
    records.push(parseChaosRecord(line, `line ${index + 1}`));
    lineNumbers.push(index + 1);
  });
  indexChaosHistory(records, (position) => `line ${lineNumbers[position]}`);
  return records;
}

/** JSON has no bigint and no Map: uint64s become decimal strings, final-read values an object. */
function jsonValue(_key: string, value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Map) return Object.fromEntries(value);
  return value;
}

/** One record as a line of the file, without the newline. */
export function formatChaosRecord(record: ChaosRecord): string {
  return JSON.stringify(record, jsonValue);
}

/** A history file's text: one line per record, each ending in a newline. */
export function formatChaosHistory(records: readonly ChaosRecord[]): string {
  return records.map((record) => `${formatChaosRecord(record)}\n`).join('');
}
