// A coordinator's durable state across crashes: a torn last record (a write
// the crash cut short, never acknowledged) is dropped and the member starts;
// real corruption makes it refuse to start, exiting non-zero with one line.
import { mkdtempSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FilePaxosStorage } from '@bulwark/paxos-storage';
import { freePort, killAllProcesses, startService, waitForServing } from '@bulwark/testing';

const walFile = 'paxos.wal';

/** A data directory holding two acknowledged records, as a coordinator would have written them. */
function dataDirWithTwoRecords(root: string, name: string): { dir: string; walBytesAfterFirst: number } {
  const dir = join(root, name);
  const { storage } = FilePaxosStorage.open(dir);
  storage.append({ promised: { round: 3n, nodeId: 'c1' }, accepted: [], chosen: [] });
  const walBytesAfterFirst = statSync(join(dir, walFile)).size;
  storage.append({
    accepted: [{ slot: 1n, ballot: { round: 3n, nodeId: 'c1' }, command: new Uint8Array(0) }],
    chosen: [],
  });
  storage.close();
  return { dir, walBytesAfterFirst };
}

async function startCoordinator(dataDir: string) {
  const address = `127.0.0.1:${await freePort()}`;
  const process = startService('coordinator', {
    BULWARK_MEMBER_ID: 'c1',
    BULWARK_LISTEN_ADDR: address,
    BULWARK_PEERS: `c1=${address},c2=127.0.0.1:2,c3=127.0.0.1:3`,
    BULWARK_DATA_DIR: dataDir,
  });
  return { process, address };
}

describe('coordinator durable state', () => {
  const root = mkdtempSync(join(tmpdir(), 'bulwark-coordinator-storage-'));

  afterAll(async () => {
    await killAllProcesses();
    rmSync(root, { recursive: true, force: true });
  });

  it('drops a torn last record and starts', async () => {
    const { dir, walBytesAfterFirst } = dataDirWithTwoRecords(root, 'torn');
    const wal = join(dir, walFile);
    truncateSync(wal, statSync(wal).size - 3);
    const { process, address } = await startCoordinator(dir);
    await waitForServing(address, 30_000, { process });
    await process.waitForLine((line) => line.includes('recovered from an interrupted write'), 10_000);
    // The acknowledged first record survived; only the torn one was cut.
    expect(statSync(wal).size).toBeGreaterThanOrEqual(walBytesAfterFirst);
    process.signal('SIGTERM');
    expect((await process.waitForExit(15_000)).code).toBe(0);
  });

  it('refuses to start on corruption before the last record, with one line naming the file', async () => {
    const { dir, walBytesAfterFirst } = dataDirWithTwoRecords(root, 'corrupt');
    const wal = join(dir, walFile);
    const bytes = readFileSync(wal);
    // Flip a byte inside the first record's payload: its checksum fails, and a valid record follows.
    const target = walBytesAfterFirst - 2;
    bytes[target] = (bytes[target] as number) ^ 0xff;
    writeFileSync(wal, bytes);
    const { process } = await startCoordinator(dir);
    const exit = await process.waitForExit(30_000);
    expect(exit.code).toBe(1);
    expect(process.stderr).toHaveLength(1);
    expect(process.stderr[0]).toMatch(/^coordinator: cannot start: .*paxos\.wal at byte \d+: .*refusing to start/);
  });
});
