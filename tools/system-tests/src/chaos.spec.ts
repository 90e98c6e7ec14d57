// A CI-sized chaos run, as users run it (`npm run chaos`, here its built
// command): the compose fleet through the launcher, a minute of seeded
// clients while a primary or backup is killed, paused past its lease, cut
// off, or crashed at a failpoint, and the coordinator leader too; then the
// checkers over the recorded history find no anomaly in sync mode, and no
// iptables rule of the run is left.
import { execFile, execFileSync, spawnSync } from 'node:child_process';
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

  it.each([
    [['--subnet', '10.0.0'], "option '--subnet <a.b.c>' argument '10.0.0' is invalid"],
    [['--duration', '10s'], "option '--duration <time>' argument '10s' is invalid. must be from 30s to 24h"],
    [['--nemeses', 'kill,boom'], '--nemeses: "boom" is not one of kill,'],
    [['--targets', 'primary,'], '--targets: "" is not one of primary,'],
  ])('refuses bad options (%j) with exit 2 and one line naming the option, touching nothing', (args, message) => {
    const result = spawnSync(process.execPath, [repoPath('dist/tools/chaos/main.js'), ...args], {
      cwd: repoRoot,
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(result.status).toBe(2);
    expect(result.stderr.trim().split('\n')).toEqual([expect.stringContaining(message)]);
  });

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
