// Runs one service's process: relays its output, probes it until healthy,
// restarts it by its restart policy when it exits on its own, and stops it on
// request (a signal, its grace period, then SIGKILL).
import type { Readable } from 'node:stream';
import type { ServicePlan } from '../plan/plan-model';
import type { ExitStatus, FleetEvent, ServiceState } from './fleet-events';
import { probeUntilHealthy } from './health-probe';
import { LineSplitter } from './line-splitter';
import { exitOf, signalGroup, spawnGroupLeader, type GroupLeader } from './process-group';
import type { ProbeSlots } from './probe-slots';
import { decideRestart, noRestarts, recordRestart } from './restart-policy';

/** Every process of a fleet gets this variable, so the fleet's processes can be found (findProcessesWithEnv). */
export const fleetIdVariable = 'BULWARK_FLEET_ID';

/** How long a process may take to disappear after SIGKILL before stop() reports it. */
const exitAfterKillMs = 5000;

export interface SupervisorContext {
  projectDir: string;
  fleetId: string;
  slots: ProbeSlots;
  emit: (event: FleetEvent) => void;
}

/** The value, or undefined if it does not settle within timeoutMs. */
async function within<T>(promise: Promise<T>, timeoutMs: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), timeoutMs);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export class ServiceSupervisor {
  private child: GroupLeader | undefined;
  private exited: Promise<ExitStatus> | undefined;
  private health: AbortController | undefined;
  private restartTimer: NodeJS.Timeout | undefined;
  private restartHistory = noRestarts;
  private stopRequested = false;
  private currentState: ServiceState = 'created';
  private lastProbeDetail: string | undefined;

  constructor(
    readonly plan: ServicePlan,
    private readonly context: SupervisorContext,
  ) {}

  get state(): ServiceState {
    return this.currentState;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** The result of the latest probe of the running process, for a readiness error. */
  get lastProbe(): string | undefined {
    return this.lastProbeDetail;
  }

  /** Starts the process unless it runs; a start on request forgets earlier restarts. */
  start(): void {
    if (this.child) return;
    clearTimeout(this.restartTimer);
    this.restartTimer = undefined;
    this.stopRequested = false;
    this.restartHistory = noRestarts;
    this.spawn();
  }

  /** Stops on request, with no restart: signal, up to graceMs, then SIGKILL. Undefined if it was not running. */
  async stop(signal: NodeJS.Signals, graceMs: number): Promise<ExitStatus | undefined> {
    this.stopRequested = true;
    clearTimeout(this.restartTimer);
    this.restartTimer = undefined;
    const { child, exited } = this;
    if (!child || !exited) {
      this.currentState = 'stopped';
      return undefined;
    }
    if (child.pid !== undefined) signalGroup(child.pid, signal);
    const status = await within(exited, graceMs);
    if (status) return status;
    if (child.pid !== undefined) signalGroup(child.pid, 'SIGKILL');
    const killed = await within(exited, exitAfterKillMs);
    if (!killed) throw new Error(`${this.plan.name} (pid ${child.pid}) still runs ${exitAfterKillMs} ms after SIGKILL`);
    return killed;
  }

  /** SIGKILL now, synchronously: for an exit handler or a second Ctrl-C. */
  killNow(): void {
    this.stopRequested = true;
    clearTimeout(this.restartTimer);
    this.health?.abort(); // kills a probe in flight, synchronously
    if (this.child?.pid !== undefined) signalGroup(this.child.pid, 'SIGKILL');
  }

  private spawn(): void {
    const env = { ...this.plan.environment, [fleetIdVariable]: this.context.fleetId };
    const child = spawnGroupLeader(this.plan.command, { cwd: this.context.projectDir, env });
    this.child = child;
    this.lastProbeDetail = undefined;
    this.relay(child.stdout, 'stdout');
    this.relay(child.stderr, 'stderr');
    this.exited = exitOf(child).then((status) => {
      this.onExit(child, status);
      return status;
    });
    // Without a pid the spawn failed; onExit follows with the error.
    if (child.pid === undefined) return;
    this.currentState = this.plan.healthcheck ? 'starting' : 'running';
    this.context.emit({ type: 'started', service: this.plan.name, pid: child.pid });
    if (this.plan.healthcheck) this.watchHealth(env);
  }

  private relay(stream: Readable, name: 'stdout' | 'stderr'): void {
    const lines = new LineSplitter((line) =>
      this.context.emit({ type: 'output', service: this.plan.name, stream: name, line }),
    );
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => lines.push(chunk));
    stream.on('end', () => lines.end());
  }

  private watchHealth(env: Record<string, string>): void {
    const probe = this.plan.healthcheck;
    if (!probe) return;
    const health = new AbortController();
    this.health = health;
    const where = { cwd: this.context.projectDir, env };
    probeUntilHealthy(probe, where, this.context.slots, health.signal, (result) => {
      this.lastProbeDetail = result.detail;
      if (!result.healthy) this.context.emit({ type: 'probe-failed', service: this.plan.name, detail: result.detail });
    }).then(
      (healthy) => {
        if (!healthy || this.health !== health) return;
        this.currentState = 'healthy';
        this.context.emit({ type: 'healthy', service: this.plan.name });
      },
      (error: Error) => {
        this.lastProbeDetail = `probe failed: ${error.message}`;
      },
    );
  }

  private onExit(child: GroupLeader, status: ExitStatus): void {
    this.child = undefined;
    this.health?.abort();
    this.health = undefined;
    // As when a container's main process ends: nothing it started outlives it.
    if (child.pid !== undefined) signalGroup(child.pid, 'SIGKILL');
    const service = this.plan.name;
    if (this.stopRequested) {
      this.currentState = 'stopped';
      this.context.emit({ type: 'exited', service, status, requested: true });
      return;
    }
    const nowMs = Date.now();
    const decision = decideRestart(this.plan.restart, status, this.restartHistory, nowMs);
    // State and timer first: a listener of the events below may stop the service, which clears the timer.
    this.currentState = decision.restart ? 'restarting' : 'exited';
    if (decision.restart) {
      this.restartHistory = recordRestart(this.restartHistory, nowMs);
      this.restartTimer = setTimeout(() => {
        this.restartTimer = undefined;
        this.spawn();
      }, decision.delayMs);
    }
    this.context.emit({ type: 'exited', service, status, requested: false });
    this.context.emit(
      decision.restart
        ? { type: 'restarting', service, delayMs: decision.delayMs }
        : { type: 'left-down', service, reason: decision.reason },
    );
  }
}
