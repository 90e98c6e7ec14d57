// A launched fleet: every service of a plan as a supervised local process,
// its published ports forwarded. The launcher and multi-service tests use it;
// stop() (or, last resort, the process exit handler) ends every process it
// started.
import { existsSync, mkdirSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import type { FleetPlan, PortForward } from '../plan/plan-model';
import type { ExitStatus, FleetEvent, ServiceState } from './fleet-events';
import { openForwarder, type Forwarder } from './port-forwarder';
import { ProbeSlots } from './probe-slots';
import { readinessOf } from './readiness';
import { ServiceSupervisor } from './service-supervisor';

export interface LaunchOptions {
  /** Passed to every process as BULWARK_FLEET_ID. */
  fleetId: string;
  /** Sees every event, including those during launchFleet. */
  onEvent?: (event: FleetEvent) => void;
  /** Probes running at once (each is a process); the number of CPUs unless set. */
  probesInFlightMax?: number;
}

export interface FleetService {
  name: string;
  address: string;
  /** Container ports it serves on its address. */
  ports: number[];
  /** Its published ports with the host ports actually bound. */
  published: PortForward[];
  /** Undefined while it is not running. */
  pid: number | undefined;
  state: ServiceState;
  /** The latest probe's result since it last started ("exit code 1: ECONNREFUSED ..."). */
  lastProbe: string | undefined;
}

/** Services that did not become healthy, each with its state and last probe result in the message. */
export class FleetNotReadyError extends Error {
  constructor(
    readonly services: FleetService[],
    reason: string,
  ) {
    const described = services.map(
      (service) => `${service.name} (${service.state}${service.lastProbe ? `; last probe: ${service.lastProbe}` : ''})`,
    );
    super(`${reason}: ${described.join(', ')}`);
    this.name = 'FleetNotReadyError';
  }
}

export interface Fleet {
  readonly plan: FleetPlan;
  services(): FleetService[];
  service(name: string): FleetService;
  /** Resolves when the named services (all by default) are healthy; rejects at the timeout, or as soon as one is down. */
  waitHealthy(timeoutMs: number, names?: readonly string[]): Promise<void>;
  /** The next event that matches, within timeoutMs. */
  waitForEvent(matches: (event: FleetEvent) => boolean, timeoutMs: number): Promise<FleetEvent>;
  /** Signals a service and waits for it to exit (SIGKILL after its grace period). It stays down until start(). */
  kill(name: string, signal?: NodeJS.Signals): Promise<ExitStatus | undefined>;
  start(name: string): void;
  /** SIGTERM to every service, SIGKILL after each one's grace period, forwarders closed. Safe to call twice. */
  stop(): Promise<void>;
  /** SIGKILL to everything at once, synchronously. */
  killNow(): void;
}

class LocalFleet implements Fleet {
  private readonly supervisors: Map<string, ServiceSupervisor>;
  private readonly listeners = new Set<(event: FleetEvent) => void>();
  /** Services waiting for others to be healthy before their first start. */
  private readonly waitingToStart = new Set<ServiceSupervisor>();
  private readonly stopping = new AbortController();
  private stopped: Promise<void> | undefined;
  private readonly killAtExit = () => this.killNow();

  constructor(
    readonly plan: FleetPlan,
    private readonly forwarders: Map<string, Forwarder[]>,
    options: LaunchOptions,
  ) {
    if (options.onEvent) this.listeners.add(options.onEvent);
    const context = {
      projectDir: plan.projectDir,
      fleetId: options.fleetId,
      slots: new ProbeSlots(options.probesInFlightMax ?? availableParallelism()),
      emit: (event: FleetEvent) => this.dispatch(event),
    };
    this.supervisors = new Map(plan.services.map((service) => [service.name, new ServiceSupervisor(service, context)]));
    process.on('exit', this.killAtExit);
    for (const supervisor of this.supervisors.values()) this.waitingToStart.add(supervisor);
    this.startThoseReady();
  }

  services(): FleetService[] {
    return [...this.supervisors.keys()].map((name) => this.service(name));
  }

  service(name: string): FleetService {
    const supervisor = this.supervisor(name);
    return {
      name,
      address: supervisor.plan.address,
      ports: supervisor.plan.ports,
      published: (this.forwarders.get(name) ?? []).map(({ hostIp, hostPort, containerPort }) => ({
        hostIp,
        hostPort,
        containerPort,
      })),
      pid: supervisor.pid,
      state: supervisor.state,
      lastProbe: supervisor.lastProbe,
    };
  }

  waitHealthy(timeoutMs: number, names: readonly string[] = [...this.supervisors.keys()]): Promise<void> {
    names.forEach((name) => this.supervisor(name));
    const selected = () => names.map((name) => this.service(name));
    return this.waitUntil(timeoutMs, () => {
      const readiness = readinessOf(selected());
      if (readiness.kind === 'ready') return { done: true, value: undefined };
      const of = (notReady: string[]) => selected().filter((service) => notReady.includes(service.name));
      if (readiness.kind === 'failed') throw new FleetNotReadyError(of(readiness.names), 'down and not restarting');
      return {
        done: false,
        onTimeout: () => new FleetNotReadyError(of(readiness.names), `not healthy within ${timeoutMs} ms`),
      };
    });
  }

  waitForEvent(matches: (event: FleetEvent) => boolean, timeoutMs: number): Promise<FleetEvent> {
    return this.waitUntil(timeoutMs, (event) =>
      event && matches(event)
        ? { done: true, value: event }
        : { done: false, onTimeout: () => new Error(`no matching fleet event within ${timeoutMs} ms`) },
    );
  }

  async kill(name: string, signal: NodeJS.Signals = 'SIGKILL'): Promise<ExitStatus | undefined> {
    const supervisor = this.supervisor(name);
    this.waitingToStart.delete(supervisor);
    return supervisor.stop(signal, supervisor.plan.stopGracePeriodMs);
  }

  start(name: string): void {
    const supervisor = this.supervisor(name);
    if (this.stopping.signal.aborted) throw new Error(`cannot start ${name}: the fleet is stopping`);
    this.waitingToStart.delete(supervisor);
    supervisor.start();
  }

  stop(): Promise<void> {
    this.stopped ??= this.stopAll();
    return this.stopped;
  }

  killNow(): void {
    this.waitingToStart.clear();
    for (const supervisor of this.supervisors.values()) supervisor.killNow();
  }

  private async stopAll(): Promise<void> {
    this.stopping.abort();
    this.waitingToStart.clear();
    const supervisors = [...this.supervisors.values()];
    const results = await Promise.allSettled(
      supervisors.map((supervisor) => supervisor.stop('SIGTERM', supervisor.plan.stopGracePeriodMs)),
    );
    await Promise.all([...this.forwarders.values()].flat().map((forwarder) => forwarder.close()));
    process.off('exit', this.killAtExit);
    const failure = results.find((result): result is PromiseRejectedResult => result.status === 'rejected');
    if (failure) throw failure.reason;
  }

  private supervisor(name: string): ServiceSupervisor {
    const supervisor = this.supervisors.get(name);
    if (!supervisor) throw new Error(`no service ${name} in this fleet (${[...this.supervisors.keys()].join(', ')})`);
    return supervisor;
  }

  private startThoseReady(): void {
    for (const supervisor of this.waitingToStart) {
      const healthy = supervisor.plan.startAfterHealthy.every((name) => this.supervisor(name).state === 'healthy');
      if (!healthy) continue;
      this.waitingToStart.delete(supervisor);
      supervisor.start();
    }
  }

  private dispatch(event: FleetEvent): void {
    for (const listener of [...this.listeners]) listener(event);
    // After the listeners, so they see "healthy" before the "started" of those that waited for it.
    if (event.type === 'healthy') this.startThoseReady();
  }

  /**
   * Evaluates check now (without an event) and after every event until it is
   * done or throws; rejects at the timeout with the error check last gave, or
   * when the fleet stops.
   */
  private waitUntil<T>(
    timeoutMs: number,
    check: (event?: FleetEvent) => { done: true; value: T } | { done: false; onTimeout: () => Error },
  ): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      let onTimeout = () => new Error(`timed out after ${timeoutMs} ms`);
      const finish = (settle: () => void) => {
        clearTimeout(timer);
        this.listeners.delete(listener);
        this.stopping.signal.removeEventListener('abort', onStopping);
        settle();
      };
      const evaluate = (event?: FleetEvent) => {
        try {
          const outcome = check(event);
          if (outcome.done) finish(() => resolve(outcome.value));
          else onTimeout = outcome.onTimeout;
        } catch (error) {
          finish(() => reject(error));
        }
      };
      const listener = (event: FleetEvent) => evaluate(event);
      const onStopping = () => finish(() => reject(new Error('the fleet is stopping')));
      const timer = setTimeout(() => finish(() => reject(onTimeout())), timeoutMs);
      if (this.stopping.signal.aborted) return onStopping();
      this.listeners.add(listener);
      this.stopping.signal.addEventListener('abort', onStopping, { once: true });
      evaluate();
    });
  }
}

async function openForwarders(plan: FleetPlan): Promise<Map<string, Forwarder[]>> {
  const opened = new Map<string, Forwarder[]>();
  try {
    for (const service of plan.services) {
      const forwarders: Forwarder[] = [];
      opened.set(service.name, forwarders);
      for (const forward of service.forwards)
        forwarders.push(await openForwarder(service.name, forward, service.address));
    }
    return opened;
  } catch (error) {
    await Promise.all([...opened.values()].flat().map((forwarder) => forwarder.close()));
    throw error;
  }
}

/**
 * Creates volume directories, binds every published port (a port in use
 * fails here, before any process starts: PortInUseError), then starts the
 * services in plan order, each one waiting for those it needs healthy.
 */
export async function launchFleet(plan: FleetPlan, options: LaunchOptions): Promise<Fleet> {
  for (const directory of plan.services.flatMap((service) => service.directories)) {
    if (!existsSync(directory)) mkdirSync(directory, { recursive: true });
  }
  return new LocalFleet(plan, await openForwarders(plan), options);
}
