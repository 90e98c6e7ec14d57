import { FailedPreconditionError } from '@bulwark/errors';
import { formatChaosRecord, parseChaosRecord } from './json-lines';
import type { ChaosRecord, FaultTarget, Operation, ResultsByKind } from './records';

/** Both clocks of a run, injected: wallMs like Date.now(), monoMs like performance.now() (one clock for every client). */
export interface ChaosClock {
  wallMs(): number;
  monoMs(): number;
}

/** An invoked operation: report its outcome at most once (never: it stays unknown). */
export interface PendingChaosOperation<K extends Operation['kind']> {
  readonly opId: number;
  ok(result: ResultsByKind[K]): void;
  /** It definitely did not take effect. */
  fail(error: string): void;
  /** The client stops waiting without knowing whether it took effect. */
  unknown(error: string): void;
}

export interface ActiveFault {
  readonly faultId: number;
  /** The fault is healed; targets default to the start's. */
  end(detail: string, targets?: readonly FaultTarget[]): void;
}

/**
 * Makes the records of a chaos run as things happen and hands each to
 * `onRecord` with its line (the runner appends it to the file at once, so a
 * run that dies leaves a history whose open operations count as unknown).
 * Every line is checked by parsing it back, so what is written can be read.
 * opIds and faultIds count from 1.
 */
export class ChaosRecorder {
  private lastOpId = 0;
  private lastFaultId = 0;

  constructor(
    private readonly clock: ChaosClock,
    private readonly onRecord: (record: ChaosRecord, line: string) => void,
  ) {}

  invoke<O extends Operation>(client: string, op: O): PendingChaosOperation<O['kind']> {
    const opId = ++this.lastOpId;
    this.emit({ type: 'invoke', opId, client, ...this.now(), op });
    let completed = false;
    const complete = (record: ChaosRecord) => {
      if (completed) throw new FailedPreconditionError('outcome', `operation ${opId} already has an outcome`);
      this.emit(record);
      completed = true;
    };
    return {
      opId,
      ok: (result) => complete({ type: 'ok', opId, client, ...this.now(), result }),
      fail: (error) => complete({ type: 'fail', opId, client, ...this.now(), error }),
      unknown: (error) => complete({ type: 'unknown', opId, client, ...this.now(), error }),
    };
  }

  startFault(kind: string, targets: readonly FaultTarget[], detail: string): ActiveFault {
    const faultId = ++this.lastFaultId;
    this.emit({ type: 'fault', faultId, phase: 'start', ...this.now(), kind, targets, detail });
    let ended = false;
    return {
      faultId,
      end: (endDetail, endTargets = targets) => {
        if (ended) throw new FailedPreconditionError('phase', `fault ${faultId} already ended`);
        this.emit({
          type: 'fault',
          faultId,
          phase: 'end',
          ...this.now(),
          kind,
          targets: endTargets,
          detail: endDetail,
        });
        ended = true;
      },
    };
  }

  finalRead(group: string, member: string, digest: string, values: ReadonlyMap<string, string | null>): void {
    this.emit({ type: 'final-read', group, member, ...this.now(), digest, values });
  }

  finalReadFailed(group: string, member: string, error: string): void {
    this.emit({ type: 'final-read-failed', group, member, ...this.now(), error });
  }

  private now(): { wallMs: number; monoMs: number } {
    return { wallMs: this.clock.wallMs(), monoMs: this.clock.monoMs() };
  }

  private emit(record: ChaosRecord): void {
    const line = formatChaosRecord(record);
    parseChaosRecord(line, `${record.type} record`);
    this.onRecord(record, line);
  }
}
