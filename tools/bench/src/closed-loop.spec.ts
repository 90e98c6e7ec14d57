import { asIdleContender, percentile, runClosedLoop } from './closed-loop';
import { cpuSecondsBetween, cpuTicksFromStat } from './process-cpu';

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('runClosedLoop', () => {
  it('keeps exactly inFlight operations going and counts only those answered inside the window', async () => {
    let inFlight = 0;
    let mostInFlight = 0;
    const windowEdges: string[] = [];
    const result = await runClosedLoop({
      inFlight: 4,
      warmupMs: 20,
      durationMs: 60,
      operation: async () => {
        mostInFlight = Math.max(mostInFlight, ++inFlight);
        await nextTurn();
        inFlight--;
      },
      onWindowStart: () => windowEdges.push('start'),
      onWindowEnd: () => windowEdges.push('end'),
    });
    expect(mostInFlight).toBe(4);
    expect(inFlight).toBe(0);
    expect(windowEdges).toEqual(['start', 'end']);
    expect(result.ops).toBeGreaterThan(0);
    expect(result.latenciesMs).toHaveLength(result.ops);
    expect(result.elapsedMs).toBeGreaterThanOrEqual(50);
    expect([...result.latenciesMs].sort((a, b) => a - b)).toEqual(result.latenciesMs);
  });

  it('stops every slot and rejects with the first failure', async () => {
    let started = 0;
    const run = runClosedLoop({
      inFlight: 3,
      warmupMs: 10_000,
      durationMs: 10_000,
      operation: async (n) => {
        started++;
        await nextTurn();
        if (n === 10) throw new Error('operation 10 failed');
      },
    });
    await expect(run).rejects.toThrow('operation 10 failed');
    const startedWhenFailed = started;
    await nextTurn();
    await nextTurn();
    expect(started).toBe(startedWhenFailed);
  });
});

describe('percentile', () => {
  it('takes the value at the fraction of an ascending list, numerically', () => {
    const sorted = [1, 2, 9, 10, 11].sort((a, b) => a - b);
    expect(percentile(sorted, 0.5)).toBe(9);
    expect(percentile(sorted, 0.99)).toBe(11);
    expect(percentile([], 0.5)).toBe(0);
  });
});

describe('process CPU', () => {
  it('reads utime + stime from a stat line whose command name holds spaces and parentheses', () => {
    const stat = '4242 (node (x) y) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 37 0 0 20 0 11 0 100 0';
    expect(cpuTicksFromStat(stat)).toBe(287);
    expect(() => cpuTicksFromStat('garbage')).toThrow('not a /proc/<pid>/stat line');
  });

  it('sums the CPU between samples, counting a restarted process (another pid) from zero', () => {
    const before = new Map([
      ['a', { pid: 1, seconds: 2 }],
      ['b', { pid: 2, seconds: 5 }],
    ]);
    const after = new Map([
      ['a', { pid: 1, seconds: 2.5 }],
      ['b', { pid: 3, seconds: 0.25 }],
    ]);
    expect(cpuSecondsBetween(before, after)).toBe(0.75);
  });
});

describe('asIdleContender', () => {
  it('runs each operation as an idle contender, never one twice at once, and refuses one too many', async () => {
    const contenders = ['a', 'b'];
    const busy = new Set<string>();
    let release = () => {};
    const held = new Promise<void>((resolve) => (release = resolve));
    const operation = asIdleContender(contenders, async (contender) => {
      expect(busy.has(contender)).toBe(false);
      busy.add(contender);
      await held;
      busy.delete(contender);
    });
    const running = [operation(), operation()];
    expect([...busy].sort()).toEqual(['a', 'b']);
    await expect(operation()).rejects.toThrow('more than 2 operations in flight');
    release();
    await Promise.all(running);
    expect(contenders.sort()).toEqual(['a', 'b']);
  });
});
