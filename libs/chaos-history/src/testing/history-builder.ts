// Terse builders of chaos histories for tests: operations with their
// intervals on the monotonic clock, faults, final reads. The records come out
// ordered by monoMs (as a recorder writes them), invocations before
// completions at equal times.
import type {
  CasOperation,
  ChaosRecord,
  DeleteOperation,
  Durability,
  FaultTarget,
  Fence,
  GetOperation,
  LockAcquireOperation,
  LockReleaseOperation,
  Operation,
  PutOperation,
  ResultsByKind,
  TxnCompare,
  TxnOperation,
  TxnWrite,
} from '../lib/records';

/** Wall times are the monotonic ones shifted to a plausible epoch: checkers never read them. */
const wallOffsetMs = 1_733_450_000_000;

interface WriteOptions {
  readonly durability?: Durability;
  readonly fence?: Fence;
}

export const put = (
  key: string,
  value: string,
  options: WriteOptions & { expectedVersion?: bigint } = {},
): PutOperation => ({
  kind: 'put',
  key,
  value,
  durability: options.durability ?? 'sync',
  ...(options.expectedVersion === undefined ? {} : { expectedVersion: options.expectedVersion }),
  ...(options.fence === undefined ? {} : { fence: options.fence }),
});
export const get = (key: string, consistency: GetOperation['consistency'] = 'strong'): GetOperation => ({
  kind: 'get',
  key,
  consistency,
});
/** A bounded read that asked for at most `maxStalenessMs` of staleness. */
export const boundedGet = (key: string, maxStalenessMs: number): GetOperation => ({
  kind: 'get',
  key,
  consistency: 'bounded',
  maxStalenessMs,
});
export const del = (key: string, options: WriteOptions = {}): DeleteOperation => ({
  kind: 'delete',
  key,
  durability: options.durability ?? 'sync',
  ...(options.fence === undefined ? {} : { fence: options.fence }),
});
export const cas = (key: string, expect: string | null, value: string, options: WriteOptions = {}): CasOperation => ({
  kind: 'cas',
  key,
  expect,
  value,
  durability: options.durability ?? 'sync',
  ...(options.fence === undefined ? {} : { fence: options.fence }),
});
/** A Txn that puts `value` to every one of `keys` if its compares hold (none by default), else writes `failure` (none). */
export const txnPutAll = (
  keys: readonly string[],
  value: string,
  options: WriteOptions & { compares?: readonly TxnCompare[]; failure?: readonly TxnWrite[] } = {},
): TxnOperation => ({
  kind: 'txn',
  compares: options.compares ?? [],
  success: keys.map((key) => ({ type: 'put', key, value })),
  failure: options.failure ?? [],
  durability: options.durability ?? 'sync',
  ...(options.fence === undefined ? {} : { fence: options.fence }),
});
export const acquire = (name: string, owner: string, ttlMs = 1_000): LockAcquireOperation => ({
  kind: 'lock-acquire',
  name,
  owner,
  ttlMs,
});
export const release = (name: string, owner: string, token: bigint): LockReleaseOperation => ({
  kind: 'lock-release',
  name,
  owner,
  token,
});

export const putOk = (group = 'group-a', version = 1n): ResultsByKind['put'] => ({
  kind: 'put',
  succeeded: true,
  version,
  group,
});
export const getOk = (value: string | null, member = 'replica-a1'): ResultsByKind['get'] => ({
  kind: 'get',
  value,
  version: value === null ? 0n : 1n,
  member,
});
export const deleteOk = (group = 'group-a'): ResultsByKind['delete'] => ({
  kind: 'delete',
  succeeded: true,
  existed: true,
  group,
});
export const casOk = (succeeded: boolean, group = 'group-a'): ResultsByKind['cas'] => ({
  kind: 'cas',
  succeeded,
  group,
});
export const txnOk = (succeeded: boolean, group = 'group-a'): ResultsByKind['txn'] => ({
  kind: 'txn',
  succeeded,
  group,
});
/** A write's result with where its group's log committed it: `committedAt(2n, 14n, putOk())`. */
export const committedAt = <R extends ResultsByKind['put' | 'delete' | 'cas' | 'txn']>(
  epoch: bigint,
  sequence: bigint,
  result: R,
): R => ({
  ...result,
  epoch,
  sequence,
});
export const granted = (token: bigint, validUntilMonoMs: number): ResultsByKind['lock-acquire'] => ({
  kind: 'lock-acquire',
  acquired: true,
  token,
  validUntilMonoMs,
});
export const released = (): ResultsByKind['lock-release'] => ({ kind: 'lock-release' });

/** A replica-group member as a fault target. */
export const replica = (member: string, group: string, primary = false): FaultTarget => ({ member, group, primary });

export class ChaosHistoryBuilder {
  private readonly built: ChaosRecord[] = [];
  private lastOpId = 0;
  private lastFaultId = 0;

  /** An operation that completed ok at completedMs; returns its opId. */
  ok<O extends Operation>(
    client: string,
    op: O,
    [invokedMs, completedMs]: [number, number],
    result: ResultsByKind[O['kind']],
  ): number {
    const opId = this.invoke(client, op, invokedMs);
    this.built.push({ type: 'ok', opId, client, ...times(completedMs), result });
    return opId;
  }

  /** An operation refused at completedMs: it definitely did not take effect. */
  fail(
    client: string,
    op: Operation,
    [invokedMs, completedMs]: [number, number],
    error = 'failed-precondition',
  ): number {
    const opId = this.invoke(client, op, invokedMs);
    this.built.push({ type: 'fail', opId, client, ...times(completedMs), error });
    return opId;
  }

  /** An operation whose client gave up at gaveUpMs (null: the history ends with it still open). */
  unknown(
    client: string,
    op: Operation,
    [invokedMs, gaveUpMs]: [number, number | null],
    error = 'deadline-exceeded',
  ): number {
    const opId = this.invoke(client, op, invokedMs);
    if (gaveUpMs !== null) this.built.push({ type: 'unknown', opId, client, ...times(gaveUpMs), error });
    return opId;
  }

  /** A fault from startMs to endMs (null: never healed); returns its faultId. */
  fault(kind: string, targets: readonly FaultTarget[], [startMs, endMs]: [number, number | null]): number {
    const faultId = ++this.lastFaultId;
    this.built.push({ type: 'fault', faultId, phase: 'start', ...times(startMs), kind, targets, detail: kind });
    if (endMs !== null) {
      this.built.push({ type: 'fault', faultId, phase: 'end', ...times(endMs), kind, targets, detail: 'healed' });
    }
    return faultId;
  }

  finalRead(group: string, member: string, atMs: number, digest: string, values: Record<string, string | null>): this {
    this.built.push({
      type: 'final-read',
      group,
      member,
      ...times(atMs),
      digest,
      values: new Map(Object.entries(values)),
    });
    return this;
  }

  finalReadFailed(group: string, member: string, atMs: number, error = 'unavailable'): this {
    this.built.push({ type: 'final-read-failed', group, member, ...times(atMs), error });
    return this;
  }

  /** The records by monoMs; at equal times in the order built. */
  get records(): ChaosRecord[] {
    return this.built
      .map((record, index) => ({ record, index }))
      .sort((a, b) => a.record.monoMs - b.record.monoMs || a.index - b.index)
      .map(({ record }) => record);
  }

  private invoke(client: string, op: Operation, invokedMs: number): number {
    const opId = ++this.lastOpId;
    this.built.push({ type: 'invoke', opId, client, ...times(invokedMs), op });
    return opId;
  }
}

function times(monoMs: number): { wallMs: number; monoMs: number } {
  return { wallMs: wallOffsetMs + monoMs, monoMs };
}
