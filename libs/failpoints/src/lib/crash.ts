// How a failpoint ends the process. crash is kill -9 sent to itself: no
// exit handlers, no drain, no flush of buffered log lines (losing those is
// part of a crash); what survives is what the kernel holds, page cache
// included. A power loss also loses the page cache's writes that were never
// fsynced: crash-lose-unsynced first runs the power-loss handlers, which
// undo them (libs/durable-log registers one for the logs it appends to).
import { writeSync } from 'node:fs';
import type { FailpointName } from './catalog';

export type CrashAction = 'crash' | 'crash-lose-unsynced';

const powerLossHandlers: Array<() => void> = [];

/** Registers what a simulated power loss undoes before the process dies; the libs that write durable files call it once. */
export function onPowerLoss(handler: () => void): void {
  powerLossHandlers.push(handler);
}

/** Undoes what a power loss would lose, by every registered handler; the first failure is thrown after all have run. */
export function simulatePowerLoss(): void {
  const failures: unknown[] = [];
  for (const handler of powerLossHandlers) {
    try {
      handler();
    } catch (error) {
      failures.push(error);
    }
  }
  if (failures.length > 0) throw failures[0];
}

/** Ends the process at once, as kill -9 would, after losing the unsynced writes for crash-lose-unsynced. */
export function crashProcess(name: FailpointName, action: CrashAction): void {
  let line = `failpoint ${name}: ${action}`;
  if (action === 'crash-lose-unsynced') {
    try {
      simulatePowerLoss();
    } catch (error) {
      line += ` (undoing unsynced writes failed: ${(error as Error).message})`;
    }
  }
  try {
    // Synchronous, so the line is out before the kill: which point ended the process is in its stderr.
    writeSync(2, `${line}\n`);
  } catch {
    // A closed or full stderr must not keep the process alive.
  }
  process.kill(process.pid, 'SIGKILL');
}
