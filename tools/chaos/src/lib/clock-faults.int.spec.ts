// The clock-skew nemesis on a real process: started with ClockFaults'
// environment, a node process's wall clock follows its offset file (jumps
// ahead, back, and returns) while its monotonic clock runs on untouched.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { ClockFaults, findLibfaketime } from './clock-faults';

/** A node process that answers each line on stdin with its Date.now() and performance.now(). */
class ClockProbe {
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly answers: Array<(line: string) => void> = [];

  constructor(environment: Record<string, string>) {
    const script =
      "require('readline').createInterface({ input: process.stdin }).on('line', () => " +
      'console.log(JSON.stringify([Date.now(), performance.now()])))';
    this.child = spawn(process.execPath, ['-e', script], { env: { ...process.env, ...environment } });
    createInterface({ input: this.child.stdout }).on('line', (line) => this.answers.shift()?.(line));
  }

  /** How far its wall clock is from this process's, ms, and its monotonic clock. */
  async read(): Promise<{ offsetMs: number; monotonicMs: number }> {
    const answer = new Promise<string>((resolve) => this.answers.push(resolve));
    this.child.stdin.write('\n');
    const [wallMs, monotonicMs] = JSON.parse(await answer) as [number, number];
    return { offsetMs: wallMs - Date.now(), monotonicMs };
  }

  /** Reads until the offset is within 5 s of `offsetMs` (libfaketime rereads its file once a second). */
  async until(offsetMs: number, deadlineMs = 10_000): Promise<{ offsetMs: number; monotonicMs: number }> {
    const deadline = Date.now() + deadlineMs;
    for (;;) {
      const reading = await this.read();
      if (Math.abs(reading.offsetMs - offsetMs) < 5_000 || Date.now() > deadline) return reading;
    }
  }

  stop(): void {
    this.child.kill('SIGKILL');
  }
}

const library = findLibfaketime();

describe('ClockFaults', () => {
  const directory = mkdtempSync(join(tmpdir(), 'bulwark-clocks-'));
  afterAll(() => rmSync(directory, { recursive: true, force: true }));

  it('finds libfaketime (the faketime package, which .ci/run installs)', () => {
    expect(library).toMatch(/libfaketimeMT\.so\.1$/);
  });

  it('moves a process wall clock ahead and back by its offset file, and never its monotonic clock', async () => {
    const clocks = new ClockFaults(library as string, directory);
    const probe = new ClockProbe(clocks.environment('replica-a1'));
    try {
      const start = await probe.until(0);
      expect(Math.abs(start.offsetMs)).toBeLessThan(5_000);
      clocks.jump('replica-a1', '+2h');
      const ahead = await probe.until(2 * 3_600_000);
      expect(Math.abs(ahead.offsetMs - 2 * 3_600_000)).toBeLessThan(5_000);
      clocks.jump('replica-a1', '-10m');
      const back = await probe.until(-600_000);
      expect(Math.abs(back.offsetMs + 600_000)).toBeLessThan(5_000);
      clocks.heal('replica-a1');
      const healed = await probe.until(0);
      expect(Math.abs(healed.offsetMs)).toBeLessThan(5_000);
      // The monotonic clock only went forward, and by no jump: far less than the 2 h it would otherwise show.
      expect(healed.monotonicMs).toBeGreaterThan(start.monotonicMs);
      expect(healed.monotonicMs - start.monotonicMs).toBeLessThan(60_000);
    } finally {
      probe.stop();
    }
  });
});
