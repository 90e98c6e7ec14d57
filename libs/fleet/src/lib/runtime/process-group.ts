// Every process the launcher starts (service or probe) leads its own process
// group. A signal to the group reaches everything it started, as stopping a
// container stops all its processes, and a terminal's Ctrl-C reaches only the
// launcher, which then stops the fleet in order instead of all at once.
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import type { Readable } from 'node:stream';
import type { ExitStatus } from './fleet-events';
import { parentDeathPrefix } from './parent-death';

export type GroupLeader = ChildProcessByStdio<null, Readable, Readable>;

export function spawnGroupLeader(
  argv: readonly string[],
  options: { cwd: string; env: Record<string, string> },
): GroupLeader {
  const [program, ...args] = [...parentDeathPrefix(), ...argv];
  return spawn(program as string, args, {
    cwd: options.cwd,
    env: options.env,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** Signals the group led by leaderPid; false if nothing of it is left. Never throws, so exit handlers can use it. */
export function signalGroup(leaderPid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-leaderPid, signal);
    return true;
  } catch {
    return false;
  }
}

/** Resolves once the process has exited (after its output is read), or failed to start. */
export function exitOf(child: GroupLeader, event: 'exit' | 'close' = 'exit'): Promise<ExitStatus> {
  return new Promise((resolve) => {
    child.once(event, (code: number | null, signal: NodeJS.Signals | null) => resolve({ code, signal }));
    child.once('error', (error) => resolve({ code: null, signal: null, error: error.message }));
  });
}
