// The Paxos core persists a slot's command when it accepts it and again when
// it learns it chosen; the WAL stores the second as a reference to the first,
// so each command is on disk once, and recovery gives back the same state.
import { crc32c, frameRecord } from '@bulwark/durable-log';
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
  recoveredState,
  snapshotPath,
  temporaryDirectories,
  walPath,
  writeBytes,
} from '../testing/storage-fixtures';
import { AcceptedCommands } from './accepted-commands';
import { encodeLogBatch } from './batch-codec';
import { FilePaxosStorage } from './file-paxos-storage';
import { encodeHeader } from './file-header';

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

/** A header as format version `version` wrote it. */
function headerOfVersion(kind: 'wal' | 'snapshot', generation: bigint, version: number): Uint8Array {
  const header = encodeHeader(kind, generation);
  const view = new DataView(header.buffer, header.byteOffset, header.byteLength);
  view.setUint32(4, version, true);
  view.setUint32(16, crc32c(header.subarray(0, 16)), true);
  return header;
}

function formatVersionOf(path: string): number {
  const bytes = readBytes(path);
  return new DataView(bytes.buffer, bytes.byteOffset).getUint32(4, true);
}

/** A WAL record whose one chosen entry (slot 7) is stored as the accepted value. */
const chosenReferenceToSlot7 = frameRecord(new Uint8Array([(3 << 3) | 2, 4, 1 << 3, 7, (3 << 3) | 0, 1]));

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
    writeBytes(walPath(directory), new Uint8Array([...readBytes(walPath(directory)), ...chosenReferenceToSlot7]));
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
    const both = frameRecord(new Uint8Array([(3 << 3) | 2, 7, 1 << 3, 7, (2 << 3) | 2, 1, 9, (3 << 3) | 0, 1]));
    const notTrue = frameRecord(new Uint8Array([(3 << 3) | 2, 4, 1 << 3, 7, (3 << 3) | 0, 2]));
    for (const record of [both, notTrue]) {
      writeBytes(walPath(directory), new Uint8Array([...wal, ...record]));
      expect(openError(directory).problem).toBe(
        'record does not decode: ChosenEntry for slot 7 must hold exactly one of command and same_as_accepted = true',
      );
    }
  });
});

describe('format version 1 files', () => {
  /** A WAL as version 1 wrote it: chosen entries always with their bytes. */
  function version1Wal(steps: readonly PersistBatch[]): Uint8Array {
    // Encoded against no accepted commands, a chosen entry in a batch of its own keeps its bytes.
    const records = steps.map((step) => frameRecord(encodeLogBatch(step, new AcceptedCommands())));
    return new Uint8Array([...headerOfVersion('wal', 0n, 1), ...records.flatMap((record) => [...record])]);
  }

  it('are read, and the WAL is rewritten in version 2 before anything is appended to it', () => {
    const directory = temporaryDirectory();
    persistAll(directory, []);
    const steps = logOf(3);
    writeBytes(walPath(directory), version1Wal(steps));
    const { storage, state } = FilePaxosStorage.open(directory);
    expect(state).toEqual(modelState(steps));
    expect(formatVersionOf(walPath(directory))).toBe(2);
    storage.append(acceptBatch(4n, 1n, 'after the upgrade'));
    storage.close();
    expect(recoveredState(directory)).toEqual(modelState([...steps, acceptBatch(4n, 1n, 'after the upgrade')]));
  });

  it('are refused when a version 1 WAL holds a chosen reference, which that version did not have', () => {
    const directory = temporaryDirectory();
    persistAll(directory, []);
    const wal = version1Wal([acceptBatch(7n, 1n, 'seven')]);
    writeBytes(walPath(directory), new Uint8Array([...wal, ...chosenReferenceToSlot7]));
    const error = openError(directory);
    expect({ offset: error.offset, problem: error.problem }).toEqual({
      offset: wal.length,
      problem: 'record does not decode: ChosenEntry has unexpected field 3 with wire type 0',
    });
  });

  it('are read for a version 1 snapshot file, whose format did not change', () => {
    const directory = temporaryDirectory();
    const steps = [...logOf(3), batch({ snapshot: { lastSlot: 2n, data: new Uint8Array([2]) } })];
    persistAll(directory, steps);
    const snapshot = readBytes(snapshotPath(directory));
    snapshot.set(headerOfVersion('snapshot', 1n, 1));
    writeBytes(snapshotPath(directory), snapshot);
    expect(recoveredState(directory)).toEqual(modelState(steps));
  });
});
