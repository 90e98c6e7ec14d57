// The launcher behind `npm start`: reads the compose file (with --clean,
// removes its named volumes' data first), plans, launches
// the fleet, prints the table and "fleet ready" once every service is healthy,
// and stops everything on SIGINT, SIGTERM or SIGHUP. Returns the exit code.
import type { Logger } from '@bulwark/logging';
import { ComposeError } from '../compose/compose-error';
import { readComposeFile } from '../compose/read-compose-file';
import { planFleet } from '../plan/fleet-plan';
import type { FleetPlan, PlanSettings } from '../plan/plan-model';
import { findProgramsOnPath } from '../runtime/find-program';
import { FleetNotReadyError, launchFleet, type Fleet } from '../runtime/fleet';
import { parentDeathPrefix } from '../runtime/parent-death';
import { PortInUseError } from '../runtime/port-forwarder';
import { removeVolumeData } from './clean-volumes';
import { eventReporter, reportPlan } from './report-events';
import { formatStatusTable } from './status-table';
import { StopSignals } from './stop-signals';

export const exitCodes = { stopped: 0, failed: 1, badInput: 2, killed: 130 } as const;

export interface LauncherOptions extends Omit<PlanSettings, 'programsOnPath'> {
  composeFile: string;
  readyTimeoutMs: number;
  fleetId: string;
  logger: Logger;
  /** Gets the table, "fleet ready" and the services' relayed output. */
  output: NodeJS.WritableStream;
  /** Gets the one line a user reads when the launcher fails. */
  errors: NodeJS.WritableStream;
  /** Removes the named volumes' data before starting (`npm start -- --clean`). */
  clean?: boolean;
}

function plan(options: LauncherOptions): FleetPlan | undefined {
  try {
    const compose = readComposeFile(options.composeFile);
    if (options.clean) {
      const removed = removeVolumeData(compose, options.stateDir);
      options.logger.info(
        { stateDir: options.stateDir, volumes: removed },
        `removed the data of ${removed.length} volumes`,
      );
    }
    return planFleet(compose, {
      ...options,
      programsOnPath: findProgramsOnPath(compose, options.environment.PATH),
    });
  } catch (error) {
    if (!(error instanceof ComposeError)) throw error;
    options.errors.write(`launcher: ${options.composeFile}: ${error.message}\n`);
    return undefined;
  }
}

async function launch(fleetPlan: FleetPlan, options: LauncherOptions): Promise<Fleet | undefined> {
  try {
    return await launchFleet(fleetPlan, {
      fleetId: options.fleetId,
      onEvent: eventReporter(fleetPlan, options.logger, options.output),
    });
  } catch (error) {
    if (!(error instanceof PortInUseError)) throw error;
    options.errors.write(`launcher: ${error.message} (BULWARK_LAUNCH_PORT_OFFSET moves every published port)\n`);
    return undefined;
  }
}

/** Waits for readiness (printing the table) and then for a stop signal; the exit code before stopping. */
async function superviseUntilStop(fleet: Fleet, fleetPlan: FleetPlan, signals: StopSignals, options: LauncherOptions) {
  const outcome = await Promise.race([
    fleet.waitHealthy(options.readyTimeoutMs).then(
      () => 'ready' as const,
      (error: unknown) => error,
    ),
    signals.first.then(() => 'stop' as const),
  ]);
  if (outcome === 'stop') return exitCodes.stopped;
  if (outcome === 'ready') {
    options.output.write(
      `${formatStatusTable(fleet.services(), fleetPlan.skipped, fleetPlan.notes, fleetPlan.pages)}\nfleet ready\n`,
    );
    await signals.first;
    return exitCodes.stopped;
  }
  if (!(outcome instanceof FleetNotReadyError)) throw outcome;
  options.logger.error({ children: outcome.services.map((service) => service.name) }, outcome.message);
  options.errors.write(`launcher: ${outcome.message}\n`);
  return exitCodes.failed;
}

export async function runLauncher(options: LauncherOptions): Promise<number> {
  const fleetPlan = plan(options);
  if (!fleetPlan) return exitCodes.badInput;
  reportPlan(fleetPlan, options.logger);
  if (parentDeathPrefix().length === 0) {
    options.logger.warn('setpriv (util-linux) not found: services would outlive a launcher killed with SIGKILL');
  }
  const signals = new StopSignals();
  try {
    const fleet = await launch(fleetPlan, options);
    if (!fleet) return exitCodes.failed;
    signals.whenForced(() => {
      options.logger.warn('second stop signal: killing every service now');
      fleet.killNow();
    });
    let code: number;
    try {
      code = await superviseUntilStop(fleet, fleetPlan, signals, options);
    } finally {
      options.logger.info('stopping the fleet');
      await fleet.stop();
      options.logger.info('fleet stopped');
    }
    return signals.forced ? exitCodes.killed : code;
  } finally {
    signals.dispose();
  }
}
