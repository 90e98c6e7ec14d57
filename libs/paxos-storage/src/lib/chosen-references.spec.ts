// The Paxos core persists a slot's command when it accepts it and again when
// it learns it chosen; the WAL stores the second as a reference to the first,
// so each command is on disk once, and recovery gives back the same state.
import { encodeUnsaltedFile } from '@bulwark/durable-log/testing';
import type { PersistBatch } from '@bulwark/paxos';
import { acceptedThenChosenSteps } from '../testing/batch-arbitraries';
import {
  acceptBatch,
  batch,
  itRecoversWhatTheModelDoes,
  fileBytes,
  logOf,
  modelState,
  openError,
  persistAll,
  readBytes,
  recordAppendedTo,
  recoveredState,
  snapshotPath,
  temporaryDirectories,
  walPath,
  writeBytes,
} from '../testing/storage-fixtures';
import { AcceptedCommands } from './accepted-commands';
import { encodeLogBatch, encodeSnapshot } from './batch-codec';
import { FilePaxosStorage } from './file-paxos-storage';
import { formatVersion } from './file-header';

const temporaryDirectory = temporaryDirectories();

const commandBytes = 1000;
const ballot = { round: 1n, nodeId: 'n1' };

function command(fill: number): Uint8Array {
  return new Uint8Array(commandBytes).fill(fill);
}

/** Slot `slot` accepted with `fill`, and the slot before it learnt chosen with its accepted command: a core's Ready. */
function acceptAndChooseBefore(slot: bigint, fill: (slot: bigint) => number): PersistBatch {
  const chosenSlot = slot - 1n;
  return batch({
    accepted: [{ slot, ballot, command: command(fill(slot)) }],
    ...(chosenSlot > 0n
      ? { chosen: [{ slot: chosenSlot, command: command(fill(chosenSlot)) }], commitSlot: chosenSlot }
      : {}),
  });
}

function formatVersionOf(path: string): number {
  const bytes = readBytes(path);
  return new DataView(bytes.buffer, bytes.byteOffset).getUint32(4, true);
}

/** A WAL record's payload whose one chosen entry (slot 7) is stored as the accepted value. */
const chosenReferenceToSlot7 = new Uint8Array([(3 << 3) | 2, 4, 1 << 3, 7, (3 << 3) | 0, 1]);

describe('chosen entries stored as the accepted value', () => {
  it('grow the WAL by less than the command when chosen with the accepted bytes, by more when they differ or were never accepted', () => {
    const directory = temporaryDirectory();
    const { storage } = FilePaxosStorage.open(directory);
    const growthOf = (step: PersistBatch): number => {
      const before = fileBytes(walPath(directory));
      storage.append(step);
      return fileBytes(walPath(directory)) - before;
    };
    const steps = [
      batch({ accepted: [{ slot: 1n, ballot, command: command(1) }] }),
      batch({ chosen: [{ slot: 1n, command: command(1) }], commitSlot: 1n }),
      batch({ accepted: [{ slot: 2n, ballot, command: command(2) }] }),
      batch({ chosen: [{ slot: 2n, command: command(3) }] }),
      batch({ chosen: [{ slot: 5n, command: command(5) }] }),
      batch({ accepted: [{ slot: 6n, ballot, command: command(6) }], chosen: [{ slot: 6n, command: command(6) }] }),
    ];
    const growths = steps.map(growthOf);
    storage.close();
    expect(growths[0]).toBeGreaterThan(commandBytes);
    expect(growths[1]).toBeLessThan(20);
    expect(growths[2]).toBeGreaterThan(commandBytes);
    expect(growths[3]).toBeGreaterThan(commandBytes); // chosen with other bytes than the slot's accepted ones
    expect(growths[4]).toBeGreaterThan(commandBytes); // learnt chosen without an accept (catch-up)
    expect(growths[5]).toBeGreaterThan(commandBytes);
    expect(growths[5]).toBeLessThan(commandBytes + 40); // accepted and chosen in one batch: the bytes once
    expect(recoveredState(directory)).toEqual(modelState(steps));
  });

  it('hold a log of accepted-then-chosen slots in about half the bytes of storing each command twice, rewritten too', () => {
    const directory = temporaryDirectory();
    const slots = 200;
    const fill = (slot: bigint) => Number(slot % 251n);
    const steps = Array.from({ length: slots + 1 }, (_, index) => acceptAndChooseBefore(BigInt(index + 1), fill));
    const { storage } = FilePaxosStorage.open(directory);
    for (const step of steps) storage.append(step);
    const appendedBytes = fileBytes(walPath(directory));
    storage.append(batch({ snapshot: { lastSlot: BigInt(slots / 2), data: new Uint8Array([1]) } }));
    const rewrittenBytes = fileBytes(walPath(directory));
    storage.close();
    // Each command twice would be at least 2 * 201 * 1000 bytes; once, a little over 201 * 1000.
    expect(appendedBytes).toBeGreaterThan((slots + 1) * commandBytes);
    expect(appendedBytes).toBeLessThan((slots + 1) * commandBytes * 1.1);
    expect(rewrittenBytes).toBeLessThan((slots / 2 + 1) * commandBytes * 1.1);
    expect(recoveredState(directory)).toEqual(
      modelState([...steps, batch({ snapshot: { lastSlot: 100n, data: new Uint8Array([1]) } })]),
    );
  });

  itRecoversWhatTheModelDoes(
    'batches as the core persists them, with snapshots and restarts',
    acceptedThenChosenSteps,
    temporaryDirectory,
  );

  it('are refused, naming the record, when no accepted value for the slot precedes them', () => {
    const directory = temporaryDirectory();
    persistAll(directory, logOf(2));
    const start = fileBytes(walPath(directory));
    const wal = readBytes(walPath(directory));
    writeBytes(walPath(directory), new Uint8Array([...wal, ...recordAppendedTo(wal, chosenReferenceToSlot7)]));
    const error = openError(directory);
    expect({ file: error.file, offset: error.offset }).toEqual({ file: 'paxos.wal', offset: start });
    expect(error.problem).toBe(
      'record does not decode: chosen entry for slot 7 is stored as the accepted value, but no accepted value for slot 7 precedes it in the log',
    );
  });

  it('are refused when a chosen entry holds both a command and the reference, or a reference that is not true', () => {
    const directory = temporaryDirectory();
    persistAll(directory, [acceptBatch(7n, 1n, 'seven')]);
    const wal = readBytes(walPath(directory));
    const both = new Uint8Array([(3 << 3) | 2, 7, 1 << 3, 7, (2 << 3) | 2, 1, 9, (3 << 3) | 0, 1]);
    const notTrue = new Uint8Array([(3 << 3) | 2, 4, 1 << 3, 7, (3 << 3) | 0, 2]);
    for (const payload of [both, notTrue]) {
      writeBytes(walPath(directory), new Uint8Array([...wal, ...recordAppendedTo(wal, payload)]));
      expect(openError(directory).problem).toBe(
        'record does not decode: ChosenEntry for slot 7 must hold exactly one of command and same_as_accepted = true',
      );
    }
  });
});

describe('files of older format versions', () => {
  /** A WAL as version 1 wrote it: chosen entries always with their bytes, records checksummed without a salt. */
  function version1Wal(payloads: readonly Uint8Array[]): Uint8Array {
    return encodeUnsaltedFile({ magic: 'PXWL', version: 1, generation: 0n }, payloads);
  }

  /** Encoded against no accepted commands, a chosen entry in a batch of its own keeps its bytes. */
  const version1Payloads = (steps: readonly PersistBatch[]) =>
    steps.map((step) => encodeLogBatch(step, new AcceptedCommands()));

  /** A WAL as version 2 wrote it: chosen entries as references where they can be, records checksummed without a salt. */
  function version2Wal(steps: readonly PersistBatch[]): Uint8Array {
    const accepted = new AcceptedCommands();
    const payloads = steps.map((step) => {
      const payload = encodeLogBatch(step, accepted);
      accepted.apply(step);
      return payload;
    });
    return encodeUnsaltedFile({ magic: 'PXWL', version: 2, generation: 0n }, payloads);
  }

  it.each([
    ['1', (steps: readonly PersistBatch[]) => version1Wal(version1Payloads(steps))],
    ['2', version2Wal],
  ])(
    'are read for a version %s WAL, rewritten in the current version before anything is appended to it',
    (_version, walOf) => {
      const directory = temporaryDirectory();
      persistAll(directory, []);
      const steps = logOf(3);
      writeBytes(walPath(directory), walOf(steps));
      const { storage, state } = FilePaxosStorage.open(directory);
      expect(state).toEqual(modelState(steps));
      expect(formatVersionOf(walPath(directory))).toBe(formatVersion);
      storage.append(acceptBatch(4n, 1n, 'after the upgrade'));
      storage.close();
      expect(recoveredState(directory)).toEqual(modelState([...steps, acceptBatch(4n, 1n, 'after the upgrade')]));
    },
  );

  it('are refused when a version 1 WAL holds a chosen reference, which that version did not have', () => {
    const directory = temporaryDirectory();
    persistAll(directory, []);
    const acceptedSeven = version1Payloads([acceptBatch(7n, 1n, 'seven')]);
    writeBytes(walPath(directory), version1Wal([...acceptedSeven, chosenReferenceToSlot7]));
    const error = openError(directory);
    expect({ offset: error.offset, problem: error.problem }).toEqual({
      offset: version1Wal(acceptedSeven).length,
      problem: 'record does not decode: ChosenEntry has unexpected field 3 with wire type 0',
    });
  });

  it.each([1, 2])('are read for a version %s snapshot file, whose records were not salted', (version) => {
    const directory = temporaryDirectory();
    const snapshot = { lastSlot: 2n, data: new Uint8Array([2]) };
    const steps = [...logOf(3), batch({ snapshot })];
    persistAll(directory, steps);
    const oldSnapshotFile = encodeUnsaltedFile({ magic: 'PXSN', version, generation: 1n }, [encodeSnapshot(snapshot)]);
    writeBytes(snapshotPath(directory), oldSnapshotFile);
    expect(recoveredState(directory)).toEqual(modelState(steps));
  });
});
