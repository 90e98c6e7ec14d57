// `npm start -- --clean`: forgets the fleet's data. Only the directories of
// the compose file's named volumes are removed (stateDir/<volume>), never
// the state directory itself nor anything else in it, so a state directory
// set to a place that holds more (BULWARK_LAUNCH_STATE_DIR) loses nothing
// else.
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { ComposeFile } from '../compose/compose-model';

/** Removes each named volume's directory under stateDir; returns the ones that existed. */
export function removeVolumeData(compose: Pick<ComposeFile, 'volumes'>, stateDir: string): string[] {
  const removed: string[] = [];
  for (const volume of compose.volumes) {
    const directory = join(stateDir, volume);
    if (!existsSync(directory)) continue;
    rmSync(directory, { recursive: true, force: true });
    removed.push(volume);
  }
  return removed;
}
