import fs, {
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  fdatasyncAsync,
  makeDirectoryDurably,
  replaceFileAtomically,
  syncWriteBytesMax,
  writeFullyAsync,
  writeLogRecord,
} from './durable-files';
import { closeLogFile } from './open-log-files';
import { tempSuffix } from './record-framing';

let root: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'durable-log-'));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

const ascii = (text: string) => new TextEncoder().encode(text);

describe('replaceFileAtomically', () => {
  it('replaces the file with the chunks, leaves no temp file, and returns a descriptor open for appends', async () => {
    writeFileSync(join(root, 'wal'), 'old content');
    const file = replaceFileAtomically(root, 'wal', [ascii('head'), ascii('er')]);
    try {
      expect(file.bytes).toBe(6);
      await writeFullyAsync(file.fd, ascii('+append'), file.bytes);
      await fdatasyncAsync(file.fd);
    } finally {
      closeLogFile(file);
    }
    expect(readFileSync(join(root, 'wal'), 'utf8')).toBe('header+append');
    expect(readdirSync(root)).toEqual(['wal']);
  });

  it('leaves the old file whole when the new one cannot be written', () => {
    writeFileSync(join(root, 'wal'), 'old content');
    mkdirSync(join(root, 'wal' + tempSuffix)); // the temp file cannot be opened for writing
    expect(() => replaceFileAtomically(root, 'wal', [ascii('new')])).toThrow(/EISDIR/);
    expect(readFileSync(join(root, 'wal'), 'utf8')).toBe('old content');
  });
});

describe('writeLogRecord', () => {
  it('writes small records and large ones (on the thread pool) in full at their positions', async () => {
    const fd = openSync(join(root, 'log'), 'w+');
    try {
      const small = Buffer.alloc(100, 1);
      const large = Buffer.alloc(syncWriteBytesMax + 1, 2);
      await writeLogRecord(fd, small, 0);
      await writeLogRecord(fd, large, small.length);
      await writeLogRecord(fd, small, small.length + large.length);
    } finally {
      closeSync(fd);
    }
    const written = readFileSync(join(root, 'log'));
    expect(written.length).toBe(200 + syncWriteBytesMax + 1);
    expect([written[99], written[100], written[100 + syncWriteBytesMax], written.at(-1)]).toEqual([1, 2, 2, 1]);
  });

  it('rejects, never throws, when the write fails, small or large', async () => {
    writeFileSync(join(root, 'log'), '');
    // Open for reading only: every write fails (EBADF).
    const fd = openSync(join(root, 'log'), 'r');
    try {
      for (const bytes of [100, syncWriteBytesMax + 1]) {
        const writing = writeLogRecord(fd, Buffer.alloc(bytes), 0);
        await expect(writing).rejects.toThrow(/EBADF/);
      }
    } finally {
      closeSync(fd);
    }
  });
});

describe('makeDirectoryDurably', () => {
  /** The directories `make` fsyncs, in order: syncDirectory opens each for reading, then fsyncs that descriptor. */
  function directoriesSyncedBy(make: () => void): string[] {
    const opened = new Map<number, string>();
    const synced: string[] = [];
    const { openSync: realOpenSync, fsyncSync: realFsyncSync } = fs;
    const open = jest.spyOn(fs, 'openSync').mockImplementation((...args: Parameters<typeof openSync>) => {
      const fd = realOpenSync(...args);
      opened.set(fd, String(args[0]));
      return fd;
    });
    const fsync = jest.spyOn(fs, 'fsyncSync').mockImplementation((fd: number) => {
      synced.push(opened.get(fd) ?? `fd ${fd}`);
      realFsyncSync(fd);
    });
    try {
      make();
    } finally {
      open.mockRestore();
      fsync.mockRestore();
    }
    return synced;
  }

  it('creates missing parents, syncing the parent of each directory it created', () => {
    const directory = join(root, 'a', 'b', 'c');
    expect(directoriesSyncedBy(() => makeDirectoryDurably(directory))).toEqual([
      join(root, 'a', 'b'),
      join(root, 'a'),
      root,
    ]);
    expect(existsSync(directory)).toBe(true);
  });

  it('syncs the parent of a directory that exists: the run that made it may have crashed before that sync', () => {
    const directory = join(root, 'made-by-a-crashed-run');
    mkdirSync(directory);
    expect(directoriesSyncedBy(() => makeDirectoryDurably(directory))).toEqual([root]);
    expect(readdirSync(root)).toEqual(['made-by-a-crashed-run']);
  });

  it('uses a directory that exists under a parent it may not read (mode 0711), but not one it created there', () => {
    const existing = join(root, 'existing');
    mkdirSync(existing);
    const { openSync: realOpenSync } = fs;
    const open = jest.spyOn(fs, 'openSync').mockImplementation((...args: Parameters<typeof openSync>) => {
      if (String(args[0]) === root)
        throw Object.assign(new Error(`EACCES: permission denied, open '${root}'`), { code: 'EACCES' });
      return realOpenSync(...args);
    });
    try {
      expect(() => makeDirectoryDurably(existing)).not.toThrow();
      expect(() => makeDirectoryDurably(join(root, 'new'))).toThrow(/EACCES/);
    } finally {
      open.mockRestore();
    }
  });
});
