// Runs a service's healthcheck command until it exits 0, like Docker does
// during a container's start, then stops: the launcher needs to know when a
// service is healthy, not to watch it forever (the monitor service does that).
import { setTimeout as delay } from 'node:timers/promises';
import type { ProbePlan } from '../plan/plan-model';
import { exitOf, signalGroup, spawnGroupLeader } from './process-group';
import type { ProbeSlots } from './probe-slots';

export interface ProbeResult {
  healthy: boolean;
  /** Why, for the readiness error: "exit code 1: connect ECONNREFUSED 127.77.0.2:7001". */
  detail: string;
}

export interface ProbeEnvironment {
  cwd: string;
  env: Record<string, string>;
}

/** Output kept from one probe: the last line usually says why it failed. */
const probeOutputCharsMax = 400;

export async function runProbe(probe: ProbePlan, where: ProbeEnvironment, signal: AbortSignal): Promise<ProbeResult> {
  const child = spawnGroupLeader(probe.argv, where);
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString('utf8')).slice(-probeOutputCharsMax);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  let timedOut = false;
  const kill = () => {
    if (child.pid !== undefined) signalGroup(child.pid, 'SIGKILL');
  };
  const timer = setTimeout(() => {
    timedOut = true;
    kill();
  }, probe.timeoutMs);
  signal.addEventListener('abort', kill, { once: true });
  // 'close': after the output is read; the timer bounds it, as it kills the whole group.
  const exit = await exitOf(child, 'close');
  clearTimeout(timer);
  signal.removeEventListener('abort', kill);
  if (exit.code === 0) return { healthy: true, detail: 'exit code 0' };
  const why = timedOut
    ? `timed out after ${probe.timeoutMs} ms`
    : (exit.error ?? (exit.code === null ? `killed by ${exit.signal}` : `exit code ${exit.code}`));
  const lastLine = output.trim().split('\n').at(-1);
  return { healthy: false, detail: lastLine ? `${why}: ${lastLine}` : why };
}

/**
 * Probes every intervalMs (counted from the end of the previous probe, so
 * probes never overlap) until one passes; true when healthy, false if aborted.
 * The first probe waits one interval too: a process just started is not
 * listening yet.
 */
export async function probeUntilHealthy(
  probe: ProbePlan,
  where: ProbeEnvironment,
  slots: ProbeSlots,
  signal: AbortSignal,
  onResult: (result: ProbeResult) => void,
): Promise<boolean> {
  try {
    for (;;) {
      await delay(probe.intervalMs, undefined, { signal });
      const release = await slots.acquire(signal);
      let result: ProbeResult;
      try {
        result = await runProbe(probe, where, signal);
      } finally {
        release();
      }
      if (signal.aborted) return false;
      onResult(result);
      if (result.healthy) return true;
    }
  } catch (error) {
    if (signal.aborted) return false;
    throw error;
  }
}
