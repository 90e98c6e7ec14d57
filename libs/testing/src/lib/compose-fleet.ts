// A fleet from a compose file (the real one or a test fixture), run by the
// same launcher library as `npm start`, in a fresh state directory and on its
// own loopback subnet so tests never meet a user's fleet or each other.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { launchFleet, planFleet, readComposeFile, type Fleet } from '@bulwark/fleet';
import { repoPath, repoRoot } from './paths';

export interface ComposeFleet {
  fleet: Fleet;
  /** host:port of a service's first container port. */
  address(name: string, port: number): string;
  /** Stops every process and removes the state directory. */
  stop(): Promise<void>;
}

export async function launchComposeFleet(
  composeFile: string,
  subnet: string,
  readyTimeoutMs = 60_000,
): Promise<ComposeFleet> {
  const stateDir = mkdtempSync(join(tmpdir(), 'bulwark-fleet-'));
  const compose = { ...readComposeFile(repoPath(composeFile)) };
  // Commands are relative to the image's working directory: the repository root here.
  compose.projectDir = repoRoot;
  const plan = planFleet(compose, {
    subnet,
    stateDir,
    portOffset: 0,
    environment: { PATH: process.env['PATH'] ?? '' },
  });
  const fleet = await launchFleet(plan, { fleetId: `test-${randomUUID()}` });
  const stop = async () => {
    await fleet.stop();
    rmSync(stateDir, { recursive: true, force: true });
  };
  try {
    await fleet.waitHealthy(readyTimeoutMs);
  } catch (error) {
    await stop();
    throw error;
  }
  return { fleet, address: (name, port) => `${fleet.service(name).address}:${port}`, stop };
}
