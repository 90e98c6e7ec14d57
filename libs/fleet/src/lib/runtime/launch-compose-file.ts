// A fleet from a compose file in one call, for tests and benchmarks: a fresh
// state directory, its own loopback subnet (so it never meets a user's fleet
// or another test's), commands run from the given project directory (the
// image's working directory), healthy before it returns.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { readComposeFile } from '../compose/read-compose-file';
import { planFleet } from '../plan/fleet-plan';
import type { FleetPlan, PlanSettings } from '../plan/plan-model';
import { findProgramsOnPath } from './find-program';
import { launchFleet, type Fleet } from './fleet';

export interface ComposeFleetOptions {
  /** The /24 of loopback addresses, e.g. "127.77.44". */
  subnet: string;
  /** Where commands run: the repository root, as the image's working directory. */
  projectDir: string;
  readyTimeoutMs?: number;
  /**
   * Added to every published host port (0 by default). A test that launches
   * a compose file with published ports picks its own, so it never meets a
   * user's fleet or another test's.
   */
  portOffset?: number;
  /** The launcher's environment besides PATH, as a user's shell would give it (OTEL_* reach every service). */
  environment?: Readonly<Record<string, string>>;
  /** Variables a tool gives one service besides its compose environment (PlanSettings.serviceEnvironment). */
  serviceEnvironment?: PlanSettings['serviceEnvironment'];
  /** Runs once the plan is made, before any process starts: setup that needs the services' addresses and ports. */
  beforeStart?: (plan: FleetPlan) => Promise<void>;
}

export interface ComposeFleet {
  fleet: Fleet;
  /** host:port of a service at one of its container ports. */
  address(name: string, port: number): string;
  /** Stops every process and removes the state directory. */
  stop(): Promise<void>;
}

export async function launchComposeFleet(composeFile: string, options: ComposeFleetOptions): Promise<ComposeFleet> {
  const compose = { ...readComposeFile(composeFile), projectDir: options.projectDir };
  const path = process.env['PATH'] ?? '';
  const stateDir = mkdtempSync(join(tmpdir(), 'bulwark-fleet-'));
  let fleet: Fleet;
  try {
    const plan = planFleet(compose, {
      subnet: options.subnet,
      stateDir,
      portOffset: options.portOffset ?? 0,
      environment: { ...options.environment, PATH: path },
      programsOnPath: findProgramsOnPath(compose, path),
      ...(options.serviceEnvironment ? { serviceEnvironment: options.serviceEnvironment } : {}),
    });
    await options.beforeStart?.(plan);
    fleet = await launchFleet(plan, { fleetId: `fleet-${randomUUID()}` });
  } catch (error) {
    // A fleet that never started (a bad plan, a published port in use) leaves no state directory behind.
    rmSync(stateDir, { recursive: true, force: true });
    throw error;
  }
  const stop = async () => {
    await fleet.stop();
    rmSync(stateDir, { recursive: true, force: true });
  };
  try {
    await fleet.waitHealthy(options.readyTimeoutMs ?? 60_000);
  } catch (error) {
    await stop();
    throw error;
  }
  return { fleet, address: (name, port) => `${fleet.service(name).address}:${port}`, stop };
}
