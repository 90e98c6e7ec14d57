// A simulated power loss keeps exactly what was fsynced: every open log is
// cut back to its durable `bytes`. Tested on real files, without killing
// anything: dropUnsyncedWrites is what crash-lose-unsynced runs before the kill.
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { failpoints, parseFailpointSetting, simulatePowerLoss } from '@bulwark/failpoints';
import {
  continueLogFile,
  fdatasyncAsync,
  replaceFileAtomically,
  replaceLogAtomically,
  writeFully,
} from './durable-files';
import { closeLogFile, dropUnsyncedWrites, type OpenLogFile } from './open-log-files';
import { tempSuffix } from './record-framing';

let root: string;
const opened: OpenLogFile[] = [];
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'durable-log-'));
});
afterEach(() => {
  for (const file of opened.splice(0)) closeLogFile(file);
  for (const { name } of failpoints.list()) failpoints.set({ name, spec: undefined });
  rmSync(root, { recursive: true, force: true });
});

const ascii = (text: string) => new TextEncoder().encode(text);
const sizeOf = (name: string) => statSync(join(root, name)).size;
const contentOf = (name: string) => readFileSync(join(root, name), 'utf8');

/** An append as the stores make one: write, fdatasync, and only then count it durable. */
async function appendDurably(file: OpenLogFile, text: string): Promise<void> {
  writeFully(file.fd, ascii(text), file.bytes);
  await fdatasyncAsync(file.fd);
  file.bytes += text.length;
}

describe('dropUnsyncedWrites', () => {
  it('cuts a replaced file back to what was fsynced: its content, then each append made durable', async () => {
    const wal = replaceFileAtomically(root, 'wal', [ascii('header')]);
    opened.push(wal);
    writeFully(wal.fd, ascii('+unsynced'), wal.bytes);
    expect(sizeOf('wal')).toBe(15);
    dropUnsyncedWrites();
    expect(contentOf('wal')).toBe('header');

    await appendDurably(wal, '+one');
    writeFully(wal.fd, ascii('+two, written only'), wal.bytes);
    dropUnsyncedWrites();
    expect(contentOf('wal')).toBe('header+one');
  });

  it('cuts a continued log back to its valid records, torn tail gone, and every open log at once', () => {
    writeFileSync(join(root, 'wal'), 'records+torn');
    const continued = continueLogFile(root, 'wal', 7n, 7, 12);
    opened.push(continued);
    expect(contentOf('wal')).toBe('records');
    const other = replaceFileAtomically(root, 'other', [ascii('kept')]);
    opened.push(other);
    const rewritten = replaceLogAtomically(root, 'rewritten', { chunks: [ascii('log')], salt: 9n });
    opened.push(rewritten);
    expect({ continued: continued.salt, rewritten: rewritten.salt }).toEqual({ continued: 7n, rewritten: 9n });
    for (const file of [continued, other, rewritten]) writeFully(file.fd, ascii('+lost'), file.bytes);
    simulatePowerLoss(); // what crash-lose-unsynced runs: durable-log registered dropUnsyncedWrites when loaded
    expect([contentOf('wal'), contentOf('other'), contentOf('rewritten')]).toEqual(['records', 'kept', 'log']);
  });

  it('leaves alone a file closed with closeLogFile, whatever later reuses its descriptor', () => {
    const closed = replaceFileAtomically(root, 'wal', [ascii('header')]);
    closeLogFile(closed);
    const unrelated = openSync(join(root, 'unrelated'), 'w');
    try {
      writeFully(unrelated, ascii('not a log'), 0);
      dropUnsyncedWrites();
      expect(contentOf('unrelated')).toBe('not a log');
    } finally {
      closeSync(unrelated);
    }
  });
});

describe('failpoints in replaceFileAtomically', () => {
  it('fails the write with EIO at file.replace.beforeWrite, leaving the old file whole', () => {
    writeFileSync(join(root, 'wal'), 'old content');
    failpoints.set(parseFailpointSetting('coordinator', 'file.replace.beforeWrite', 'error(EIO)'));
    let thrown: NodeJS.ErrnoException | undefined;
    try {
      opened.push(replaceFileAtomically(root, 'wal', [ascii('new')]));
    } catch (error) {
      thrown = error as NodeJS.ErrnoException;
    }
    expect(thrown?.code).toBe('EIO');
    expect(thrown?.syscall).toBe('write');
    expect(contentOf('wal')).toBe('old content');
  });

  it('fails the rename with ENOSPC at file.replace.beforeRename, once: the temp file is whole, the old file too', () => {
    writeFileSync(join(root, 'wal'), 'old content');
    failpoints.set(parseFailpointSetting('replica', 'file.replace.beforeRename', '1*error(ENOSPC)'));
    expect(() => replaceFileAtomically(root, 'wal', [ascii('new')])).toThrow(
      'ENOSPC: no space left on device, rename (failpoint file.replace.beforeRename)',
    );
    expect(contentOf('wal')).toBe('old content');
    expect(contentOf('wal' + tempSuffix)).toBe('new');
    opened.push(replaceFileAtomically(root, 'wal', [ascii('newer')]));
    expect(contentOf('wal')).toBe('newer');
    expect(existsSync(join(root, 'wal' + tempSuffix))).toBe(false);
  });
});
