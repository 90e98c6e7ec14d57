// A CI-sized chaos run, as users run it (`npm run chaos`, here its built
// command): the compose fleet through the launcher, a minute of seeded
// clients while a primary or backup is killed, paused past its lease, cut
// off, or crashed at a failpoint, and the coordinator leader too; then the
// checkers over the recorded history find no anomaly in sync mode, and no
// iptables rule of the run is left.
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoPath, repoRoot } from '@bulwark/testing';

interface Summary {
  seed: number;
  operations: number;
  faults: number;
  report: {
    anomalyCount: number;
    linearizability: { keysDecided: number; undecidedKeys: unknown[] };
    lostSyncWrites: { syncWritesChecked: number };
    convergence: { membersRead: number };
  };
}

describe('npm run chaos', () => {
  const out = mkdtempSync(join(tmpdir(), 'bulwark-chaos-'));
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it('finds no anomaly in sync mode through kills, long pauses, partitions and failpoint crashes', async () => {
    const args = [
      repoPath('dist/tools/chaos/main.js'),
      ...['--duration', '60s', '--seed', '20'],
      ...['--nemeses', 'kill,pause-long,partition,failpoint', '--targets', 'primary,backup,coordinator-leader'],
      ...['--out', out, '--subnet', '127.77.93', '--port-offset', '12000'],
    ];
    const run = await new Promise<{ code: number; output: string }>((resolve) =>
      execFile(process.execPath, args, { cwd: repoRoot, timeout: 240_000 }, (error, stdout, stderr) =>
        resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, output: stdout + stderr }),
      ),
    );
    expect([run.code, run.output]).toEqual([0, expect.stringContaining('anomalies: 0')]);
    const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')) as Summary;
    expect(summary.report.anomalyCount).toBe(0);
    // The run did what it says: faults happened, and the checkers had something to check.
    expect(summary.faults).toBeGreaterThanOrEqual(4);
    expect(summary.operations).toBeGreaterThan(1_000);
    expect(summary.report.linearizability.keysDecided).toBe(16);
    expect(summary.report.linearizability.undecidedKeys).toEqual([]);
    expect(summary.report.lostSyncWrites.syncWritesChecked).toBeGreaterThan(100);
    expect(summary.report.convergence.membersRead).toBe(9);
    for (const kind of ['kill', 'pause-long', 'partition', 'failpoint']) {
      expect(readFileSync(join(out, 'history.jsonl'), 'utf8')).toContain(`"kind":"${kind}"`);
    }
    expect(execFileSync('iptables', ['-w', '5', '-S'], { encoding: 'utf8' })).not.toContain('BWCHAOS');
  }, 300_000);
});
