import { InvalidArgumentError } from '@bulwark/errors';
import { asHistory, recordsOf, type ChaosHistory, type ChaosOperation, type HistoryInput } from '../history-index';
import { appliedWrites, durabilityOf, possibleWrites } from '../key-writes';
import type { ChaosRecord, Durability, FaultRecord, FinalReadRecord } from '../records';
import { AnomalyList, nameOf, showValue, type Anomaly, type CheckerResult } from './anomalies';

// Whether acknowledged writes survived, judged from the final reads taken
// after healing. A write W acknowledged ok is lost on a replica if the value
// the replica holds for W's key is neither W's value nor the value of a write
// that could have come after W: one that did not fail, was invoked before
// the final read, and did not complete before W was invoked (an unknown one
// may take effect at any time after its invocation). Anything else the
// replica can hold was overwritten by W for good, so W was lost.

/** An acknowledged write of one key that a replica's final read does not explain. */
interface KeyLoss {
  readonly write: ChaosOperation;
  readonly key: string;
  readonly value: string | null;
  /** The final reads that do not show it, each with the latest write of the value it holds (null: none). */
  readonly lostOn: readonly { readonly read: FinalReadRecord; readonly writer: ChaosOperation | null }[];
}

interface DurabilityScan {
  readonly checked: Record<Durability, number>;
  readonly losses: readonly KeyLoss[];
  readonly keysWithoutFinalRead: readonly string[];
}

/** Every possible write of a key's value, and when the latest of them could have taken effect. */
class WritersOfKey {
  private readonly byValue = new Map<string | null, ChaosOperation[]>();

  add(value: string | null, operation: ChaosOperation): void {
    const writers = this.byValue.get(value);
    if (writers) writers.push(operation);
    else this.byValue.set(value, [operation]);
  }

  /** Of the writes of `value` invoked by `beforeMs`, the one that may have taken effect last (unknown ones: any time). */
  latest(value: string | null, beforeMs: number): ChaosOperation | null {
    let latest: ChaosOperation | null = null;
    for (const writer of this.byValue.get(value) ?? []) {
      if (writer.invokedMs > beforeMs) continue;
      if (latest === null || (writer.completedMs ?? Infinity) > (latest.completedMs ?? Infinity)) latest = writer;
    }
    return latest;
  }
}

/** Scans already made, per indexed history: the sync and async checkers of one report share one. */
const scans = new WeakMap<ChaosHistory, DurabilityScan>();

function scanDurability(history: ChaosHistory): DurabilityScan {
  let scan = scans.get(history);
  if (scan === undefined) scans.set(history, (scan = scanDurabilityOnce(history)));
  return scan;
}

function scanDurabilityOnce(history: ChaosHistory): DurabilityScan {
  const writers = new Map<string, WritersOfKey>();
  for (const operation of history.operations) {
    for (const { key, value } of possibleWrites(operation)) {
      let ofKey = writers.get(key);
      if (ofKey === undefined) writers.set(key, (ofKey = new WritersOfKey()));
      ofKey.add(value, operation);
    }
  }
  const readsOfKey = new Map<string, FinalReadRecord[]>();
  for (const read of history.finalReads) {
    if (read.type !== 'final-read') continue;
    for (const key of read.values.keys()) {
      const reads = readsOfKey.get(key);
      if (reads) reads.push(read);
      else readsOfKey.set(key, [read]);
    }
  }
  // What a read holds for a key is fixed, so its latest writer is found once per read and key, not once per write.
  const latestWriters = new Map<FinalReadRecord, Map<string, ChaosOperation | null>>();
  const latestWriterOf = (read: FinalReadRecord, key: string): ChaosOperation | null => {
    let ofRead = latestWriters.get(read);
    if (ofRead === undefined) latestWriters.set(read, (ofRead = new Map()));
    let writer = ofRead.get(key);
    if (writer === undefined) {
      writer = writers.get(key)?.latest(read.values.get(key) as string | null, read.monoMs) ?? null;
      ofRead.set(key, writer);
    }
    return writer;
  };
  const checked: Record<Durability, number> = { sync: 0, async: 0 };
  const losses: KeyLoss[] = [];
  const keysWithoutFinalRead = new Set<string>();
  for (const write of history.operations) {
    const durability = durabilityOf(write);
    const applied = appliedWrites(write);
    if (durability === null || applied.length === 0) continue;
    checked[durability] += 1;
    for (const { key, value } of applied) {
      const reads = readsOfKey.get(key);
      if (reads === undefined) {
        keysWithoutFinalRead.add(key);
        continue;
      }
      const lostOn = reads.flatMap((read) => {
        if (read.values.get(key) === value) return [];
        const writer = latestWriterOf(read, key);
        // Completed no earlier than W's invocation (or unknown): it may have been linearized after W.
        if (writer !== null && (writer.completedMs ?? Infinity) >= write.invokedMs) return [];
        return [{ read, writer }];
      });
      if (lostOn.length > 0) losses.push({ write, key, value, lostOn });
    }
  }
  return { checked, losses, keysWithoutFinalRead: [...keysWithoutFinalRead].sort() };
}

function describeLoss(loss: KeyLoss): string {
  const { write, key, value, lostOn } = loss;
  const holders = lostOn.map(({ read, writer }) => {
    const source =
      writer === null
        ? 'which no operation invoked before the read wrote'
        : `last written by ${nameOf(writer)}, completed at ${writer.completedMs} ms`;
    return `${read.member} holds ${showValue(read.values.get(key) as string | null)} (${source})`;
  });
  return (
    `${nameOf(write)} set ${JSON.stringify(key)} to ${showValue(value)}, invoked at ${write.invokedMs} ms and ` +
    `acknowledged at ${write.completedMs} ms, is lost: ${holders.join('; ')}`
  );
}

/** The write, the first final read that misses it, and the latest write of what that read holds: one read shows it. */
function evidenceOf(loss: KeyLoss): ChaosRecord[] {
  const [{ read, writer }] = loss.lostOn as [KeyLoss['lostOn'][number]];
  return [...recordsOf(loss.write), read, ...(writer === null ? [] : recordsOf(writer))];
}

export interface LostWrite extends Anomaly<'lost-sync-write'> {
  readonly opId: number;
  readonly key: string;
  /** The replicas whose final reads do not show it. */
  readonly members: readonly string[];
}

export interface LostSyncWritesResult extends CheckerResult<LostWrite> {
  /** Sync writes acknowledged ok that wrote something. */
  readonly syncWritesChecked: number;
  /** Keys written but in no final read: their writes could not be checked. */
  readonly keysWithoutFinalRead: readonly string[];
}

/** No acknowledged sync write lost (see the rule at the top of this file). */
export function checkLostSyncWrites(
  input: HistoryInput,
  options: { readonly anomaliesMax?: number } = {},
): LostSyncWritesResult {
  const history = asHistory(input);
  const scan = scanDurability(history);
  const anomalies = new AnomalyList<LostWrite>(options.anomaliesMax);
  for (const loss of scan.losses) {
    if (durabilityOf(loss.write) !== 'sync') continue;
    anomalies.add({
      kind: 'lost-sync-write',
      description: `sync ${describeLoss(loss)}`,
      records: history.subHistory(evidenceOf(loss)),
      opId: loss.write.opId,
      key: loss.key,
      members: loss.lostOn.map(({ read }) => read.member),
    });
  }
  return {
    ...anomalies.result(),
    syncWritesChecked: scan.checked.sync,
    keysWithoutFinalRead: scan.keysWithoutFinalRead,
  };
}

/**
 * The documented window of async loss: a failover may lose async writes
 * acknowledged shortly before the primary failed, and those acknowledged
 * after (in flight when it was killed, or acknowledged under its lease while
 * cut off).
 */
export interface AsyncLossWindow {
  /** How long before a fault hit its group's primary an async write lost may have been acknowledged. */
  readonly beforeFaultMs: number;
  /** How long after the fault began. */
  readonly afterFaultMs: number;
}

export interface AsyncLossOptions {
  readonly window: AsyncLossWindow;
  readonly anomaliesMax?: number;
}

export interface AsyncWriteLostOutsideWindow extends Anomaly<'async-write-lost-outside-window'> {
  readonly opId: number;
  readonly key: string;
  readonly members: readonly string[];
}

export interface AsyncLossResult extends CheckerResult<AsyncWriteLostOutsideWindow> {
  /** Async writes acknowledged ok that wrote something. */
  readonly asyncWritesChecked: number;
  /** Of those, lost on some replica (a txn counts once however many keys it lost). */
  readonly asyncWritesLost: number;
  /** Of those lost, acknowledged within the window of a fault on their group's primary: the documented cost. */
  readonly asyncWritesLostWithinWindow: number;
}

function checkWindow(window: AsyncLossWindow): void {
  for (const field of ['beforeFaultMs', 'afterFaultMs'] as const) {
    const value = window[field];
    if (!Number.isFinite(value) || value < 0) {
      throw new InvalidArgumentError(`window.${field}`, `must be a finite number of at least 0, got ${value}`);
    }
  }
}

/**
 * Counts the acknowledged async writes lost (the same rule as sync writes),
 * and reports each lost one acknowledged outside the window of every fault
 * that hit its group's primary (a fault start whose targets hold a primary of
 * the group of the final read that misses it).
 */
export function checkAsyncWriteLoss(input: HistoryInput, options: AsyncLossOptions): AsyncLossResult {
  checkWindow(options.window);
  const { beforeFaultMs, afterFaultMs } = options.window;
  const history = asHistory(input);
  const scan = scanDurability(history);
  const faultStarts = history.faults.map((fault) => fault.start);
  const hitsPrimaryOf = (fault: FaultRecord, group: string) =>
    fault.targets.some((target) => target.primary && target.group === group);
  const anomalies = new AnomalyList<AsyncWriteLostOutsideWindow>(options.anomaliesMax);
  const lost = new Set<ChaosOperation>();
  const lostWithinWindow = new Set<ChaosOperation>();
  for (const loss of scan.losses) {
    if (durabilityOf(loss.write) !== 'async') continue;
    lost.add(loss.write);
    const acknowledgedMs = loss.write.completedMs as number;
    const groups = new Set(loss.lostOn.map(({ read }) => read.group));
    const explained = faultStarts.some(
      (fault) =>
        [...groups].some((group) => hitsPrimaryOf(fault, group)) &&
        acknowledgedMs >= fault.monoMs - beforeFaultMs &&
        acknowledgedMs <= fault.monoMs + afterFaultMs,
    );
    if (explained) {
      lostWithinWindow.add(loss.write);
      continue;
    }
    anomalies.add({
      kind: 'async-write-lost-outside-window',
      description:
        `async ${describeLoss(loss)}; no fault on the primary of ${[...groups].join(', ')} began between ` +
        `${afterFaultMs} ms before and ${beforeFaultMs} ms after its acknowledgement`,
      records: history.subHistory(evidenceOf(loss)),
      opId: loss.write.opId,
      key: loss.key,
      members: loss.lostOn.map(({ read }) => read.member),
    });
  }
  return {
    ...anomalies.result(),
    asyncWritesChecked: scan.checked.async,
    asyncWritesLost: lost.size,
    asyncWritesLostWithinWindow: lostWithinWindow.size,
  };
}
