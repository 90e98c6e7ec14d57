import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fdatasyncAsync, makeDirectoryDurably, replaceFileAtomically, writeFullyAsync } from './durable-files';
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

describe('makeDirectoryDurably', () => {
  it('creates missing parents, and does nothing for a directory that exists', () => {
    const directory = join(root, 'a', 'b', 'c');
    makeDirectoryDurably(directory);
    expect(existsSync(directory)).toBe(true);
    makeDirectoryDurably(directory);
    expect(readdirSync(join(root, 'a'))).toEqual(['b']);
  });
});
