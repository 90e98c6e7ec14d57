// What happens to a fleet's services, as the launcher reports it and tests wait for it.

export interface ExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Why the process could not be started at all (e.g. the program was not found). */
  error?: string;
}

/**
 * created: waiting to start (for a service it depends on to be healthy);
 * starting: running, healthcheck not yet passed; healthy: it passed;
 * running: running without a healthcheck; restarting: waiting out the backoff;
 * exited: exited and left down by its restart policy; stopped: stopped on request.
 */
export type ServiceState = 'created' | 'starting' | 'healthy' | 'running' | 'restarting' | 'exited' | 'stopped';

export type FleetEvent =
  | { type: 'started'; service: string; pid: number }
  | { type: 'output'; service: string; stream: 'stdout' | 'stderr'; line: string }
  | { type: 'probe-failed'; service: string; detail: string }
  | { type: 'healthy'; service: string }
  | { type: 'exited'; service: string; status: ExitStatus; requested: boolean }
  | { type: 'restarting'; service: string; delayMs: number }
  | { type: 'left-down'; service: string; reason: string };
