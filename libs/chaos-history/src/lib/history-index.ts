import { InvalidArgumentError } from '@bulwark/errors';
import type {
  ChaosRecord,
  CompletionRecord,
  FaultRecord,
  FinalReadFailedRecord,
  FinalReadRecord,
  InvokeRecord,
  OperationKind,
  OperationsByKind,
  ResultsByKind,
} from './records';

// The history as the checkers read it: each operation with its invocation and
// completion paired, each fault with its start and end, and the final reads.
// Building it checks the shape that the field checks of one record cannot.

/** ok: completed with its result; fail: definitely not applied; unknown: may apply at any time after invocation, or never. */
export type Outcome = 'ok' | 'fail' | 'unknown';

export interface ChaosOperationOf<K extends OperationKind> {
  readonly kind: K;
  readonly opId: number;
  readonly client: string;
  readonly op: OperationsByKind[K];
  readonly outcome: Outcome;
  /** The result when the outcome is ok, else null. */
  readonly result: ResultsByKind[K] | null;
  /** monoMs of the invocation. */
  readonly invokedMs: number;
  /** monoMs of an ok or fail completion; null when the outcome is unknown (it may take effect any time later). */
  readonly completedMs: number | null;
  readonly invoke: InvokeRecord;
  /** null when the history ends before the operation completed (it counts as unknown). */
  readonly completion: CompletionRecord | null;
}

/** An operation of any kind; test `kind` to know its op and result types. */
export type ChaosOperation = { [K in OperationKind]: ChaosOperationOf<K> }[OperationKind];

export interface ChaosFault {
  readonly faultId: number;
  readonly kind: string;
  readonly start: FaultRecord;
  /** null when the history ends before the fault was healed. */
  readonly end: FaultRecord | null;
}

export interface ChaosHistory {
  readonly records: readonly ChaosRecord[];
  /** In invocation order. */
  readonly operations: readonly ChaosOperation[];
  /** In start order. */
  readonly faults: readonly ChaosFault[];
  /** At most one per member. */
  readonly finalReads: readonly (FinalReadRecord | FinalReadFailedRecord)[];
  /** The given records of this history, each once, in history order: how an anomaly shows its evidence. */
  subHistory(records: Iterable<ChaosRecord>): ChaosRecord[];
}

/** What a checker takes: records, or a history already indexed from them (so that several checkers index once). */
export type HistoryInput = readonly ChaosRecord[] | ChaosHistory;

export function asHistory(input: HistoryInput): ChaosHistory {
  return 'operations' in input ? input : indexChaosHistory(input);
}

/** The records that show an operation: its invocation and its completion, if any. */
export function recordsOf(operation: ChaosOperation): ChaosRecord[] {
  return operation.completion === null ? [operation.invoke] : [operation.invoke, operation.completion];
}

interface OpenOperation {
  readonly invoke: InvokeRecord;
  readonly position: number;
  completion: CompletionRecord | null;
}

function buildOperation({ invoke, completion }: OpenOperation): ChaosOperation {
  const outcome: Outcome = completion === null || completion.type === 'unknown' ? 'unknown' : completion.type;
  // The result's kind was checked to be the op's, so the pair is one member of the union.
  return {
    kind: invoke.op.kind,
    opId: invoke.opId,
    client: invoke.client,
    op: invoke.op,
    outcome,
    result: completion?.type === 'ok' ? completion.result : null,
    invokedMs: invoke.monoMs,
    completedMs: outcome === 'unknown' ? null : (completion as CompletionRecord).monoMs,
    invoke,
    completion,
  } as ChaosOperation;
}

/**
 * Pairs a history's records. `where(position)` names a record in errors
 * ("records[3]" by default; the parser passes "line 12"). Throws
 * InvalidArgumentError naming the record and field of the first problem: an
 * opId invoked twice, a completion without an invocation before it or after
 * another completion, by another client, earlier than its invocation, or
 * with a result of another kind than its op; a fault id started twice, an
 * end without a start or of another kind, or earlier than the start; two
 * final reads of one member.
 */
export function indexChaosHistory(
  records: readonly ChaosRecord[],
  where: (position: number) => string = (position) => `records[${position}]`,
): ChaosHistory {
  const fail = (position: number, field: string, problem: string): never => {
    throw new InvalidArgumentError(`${where(position)} field "${field}"`, problem);
  };
  const operations = new Map<number, OpenOperation>();
  const faults = new Map<number, { start: FaultRecord; end: FaultRecord | null; position: number }>();
  const finalReadMembers = new Map<string, number>();
  const finalReads: (FinalReadRecord | FinalReadFailedRecord)[] = [];
  const positions = new Map<ChaosRecord, number>();
  records.forEach((record, position) => {
    positions.set(record, position);
    switch (record.type) {
      case 'invoke': {
        const earlier = operations.get(record.opId);
        if (earlier) fail(position, 'opId', `${record.opId} was invoked already, at ${where(earlier.position)}`);
        operations.set(record.opId, { invoke: record, position, completion: null });
        return;
      }
      case 'ok':
      case 'fail':
      case 'unknown': {
        const open = operations.get(record.opId);
        if (open === undefined) return fail(position, 'opId', `no invocation of ${record.opId} before it`);
        if (open.completion !== null) {
          const completedAt = positions.get(open.completion) as number;
          return fail(position, 'opId', `${record.opId} already completed, at ${where(completedAt)}`);
        }
        if (record.client !== open.invoke.client) {
          fail(position, 'client', `must be ${JSON.stringify(open.invoke.client)}, the client that invoked it`);
        }
        if (record.monoMs < open.invoke.monoMs) {
          fail(position, 'monoMs', `must not be before the invocation's ${open.invoke.monoMs}, got ${record.monoMs}`);
        }
        if (record.type === 'ok' && record.result.kind !== open.invoke.op.kind) {
          fail(position, 'result.kind', `must be ${open.invoke.op.kind}, the op's kind, got ${record.result.kind}`);
        }
        open.completion = record;
        return;
      }
      case 'fault': {
        const fault = faults.get(record.faultId);
        if (record.phase === 'start') {
          if (fault) fail(position, 'faultId', `${record.faultId} was started already, at ${where(fault.position)}`);
          faults.set(record.faultId, { start: record, end: null, position });
          return;
        }
        if (fault === undefined) return fail(position, 'faultId', `no start of fault ${record.faultId} before it`);
        if (fault.end !== null) return fail(position, 'faultId', `fault ${record.faultId} already ended`);
        if (record.kind !== fault.start.kind) fail(position, 'kind', `must be ${fault.start.kind}, the start's kind`);
        if (record.monoMs < fault.start.monoMs) {
          fail(position, 'monoMs', `must not be before the start's ${fault.start.monoMs}, got ${record.monoMs}`);
        }
        fault.end = record;
        return;
      }
      case 'final-read':
      case 'final-read-failed': {
        const earlier = finalReadMembers.get(record.member);
        if (earlier !== undefined) fail(position, 'member', `${record.member} was read already, at ${where(earlier)}`);
        finalReadMembers.set(record.member, position);
        finalReads.push(record);
        return;
      }
    }
  });
  const byPosition = (a: ChaosRecord, b: ChaosRecord) => (positions.get(a) as number) - (positions.get(b) as number);
  return {
    records,
    operations: [...operations.values()].map(buildOperation),
    faults: [...faults.values()].map(({ start, end }) => ({ faultId: start.faultId, kind: start.kind, start, end })),
    finalReads,
    subHistory: (chosen) => {
      const unique = [...new Set(chosen)];
      for (const record of unique) {
        if (!positions.has(record)) throw new Error('subHistory: a record that is not in this history');
      }
      return unique.sort(byPosition);
    },
  };
}
