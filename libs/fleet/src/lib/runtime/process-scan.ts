// Finds live processes by an environment variable, reading /proc (Linux).
// Every process of a fleet carries BULWARK_FLEET_ID, so tests can prove that
// nothing of a fleet is left, and a user can find what a launcher killed with
// SIGKILL (which no exit handler sees) left behind.
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
