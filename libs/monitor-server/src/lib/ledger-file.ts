// The availability ledger on disk: one JSON file under the monitor's data
// directory, replaced atomically (temp file, fsync, rename, directory fsync)
// so a crash leaves the last complete save, and a restart keeps the history.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  closeLogFile,
  makeDirectoryDurably,
  replaceFileAtomically,
  StorageCorruptionError,
} from '@bulwark/durable-log';
import { AvailabilityLedger, type LedgerSnapshot } from '@bulwark/monitor-core';

export const ledgerFileName = 'availability.json';

export class LedgerFile {
  readonly path: string;

  constructor(private readonly directory: string) {
    this.path = join(directory, ledgerFileName);
  }

  /** The ledger as last saved, or a new one when there is none; a damaged file throws, naming what is wrong. */
  load(): AvailabilityLedger {
    makeDirectoryDurably(this.directory);
    let text: string;
    try {
      text = readFileSync(this.path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return new AvailabilityLedger();
      throw error;
    }
    try {
      return AvailabilityLedger.restore(JSON.parse(text));
    } catch (error) {
      throw new StorageCorruptionError(this.path, 0, `not an availability ledger: ${(error as Error).message}`);
    }
  }

  /** Small (a day of outages at most), so written in one go. */
  save(snapshot: LedgerSnapshot): void {
    const written = replaceFileAtomically(this.directory, ledgerFileName, [Buffer.from(JSON.stringify(snapshot))]);
    closeLogFile(written);
  }
}
