// CPU time of the fleet's processes, read from /proc/<pid>/stat (Linux):
// user plus system time of every thread of the process, so fsyncs on the
// libuv pool count too. A bench takes a sample before and after a cell and
// divides the difference by the operations it counted.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/**
 * utime + stime in clock ticks from the text of /proc/<pid>/stat. The
 * command name (field 2) is in parentheses and may hold spaces and
 * parentheses itself, so fields are counted from the last ')'.
 */
export function cpuTicksFromStat(stat: string): number {
  const fields = stat
    .slice(stat.lastIndexOf(')') + 2)
    .trim()
    .split(' ');
  // fields[0] is field 3 (state): utime is field 14, stime field 15.
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  if (!Number.isSafeInteger(utime) || !Number.isSafeInteger(stime)) {
    throw new Error(`not a /proc/<pid>/stat line: ${stat.slice(0, 80)}`);
  }
  return utime + stime;
}

let ticksPerSecond: number | undefined;

/** USER_HZ, what /proc counts CPU time in: 100 on every Linux we run on, asked once to be sure. */
function clockTicksPerSecond(): number {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

/** One process's CPU seconds so far; undefined when it is gone. */
function cpuSecondsOf(pid: number): number | undefined {
  try {
    return cpuTicksFromStat(readFileSync(`/proc/${pid}/stat`, 'latin1')) / clockTicksPerSecond();
  } catch {
    return undefined;
  }
}

/** CPU seconds of each named process at one moment, with the pid they were read from. */
export type CpuSample = ReadonlyMap<string, { pid: number; seconds: number }>;

export function sampleCpu(pids: ReadonlyMap<string, number | undefined>): CpuSample {
  const sample = new Map<string, { pid: number; seconds: number }>();
  for (const [name, pid] of pids) {
    const seconds = pid === undefined ? undefined : cpuSecondsOf(pid);
    if (pid !== undefined && seconds !== undefined) sample.set(name, { pid, seconds });
  }
  return sample;
}

/**
 * CPU seconds all processes spent between two samples. A process that was
 * restarted in between (another pid) counts from zero: all its time is
 * within the interval. One gone by the second sample counts nothing.
 */
export function cpuSecondsBetween(before: CpuSample, after: CpuSample): number {
  let total = 0;
  for (const [name, end] of after) {
    const start = before.get(name);
    total += start !== undefined && start.pid === end.pid ? end.seconds - start.seconds : end.seconds;
  }
  return total;
}
