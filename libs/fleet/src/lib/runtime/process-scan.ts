// Finds live processes by an environment variable, reading /proc (Linux).
// Every process of a fleet carries BULWARK_FLEET_ID, so tests can prove that
// nothing of a fleet is left, and a user can find what a launcher killed with
// SIGKILL (which no exit handler sees) left behind. /proc shows the memory
// the environment started in, which a program may overwrite: redis-server
// writes its process title over its argv and environment, so it is found
// by its pid only (isRunning); parent-death.ts still ends it with the launcher.
import { readdirSync, readFileSync } from 'node:fs';

export function findProcessesWithEnv(name: string, value: string): number[] {
  const entry = `${name}=${value}`;
  return readdirSync('/proc')
    .filter((pid) => /^\d+$/.test(pid))
    .filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/environ`, 'latin1').split('\0').includes(entry);
      } catch {
        return false; // gone meanwhile, or another user's process
      }
    })
    .map(Number);
}

/** Whether the process runs: it exists and is not a zombie (dead, waiting for its parent, maybe init, to reap it). */
export function isRunning(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    // The state follows the command name, which is in parentheses and may hold any character.
    return stat[stat.lastIndexOf(')') + 2] !== 'Z';
  } catch {
    return false;
  }
}
