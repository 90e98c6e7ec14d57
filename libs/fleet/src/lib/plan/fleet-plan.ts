// Turns a parsed compose file into a plan for local processes: which services
// run and why the others are skipped (skipped-services.ts), addresses,
// rewritten commands and environments, volume directories, port forwards,
// probes and start order.
// Pure: no files, sockets or processes (PATH is searched before, at launch).
import { join, resolve } from 'node:path';
import { ComposeError } from '../compose/compose-error';
import type { ComposeFile, ProcessService } from '../compose/compose-model';
import { planAddresses } from './address-plan';
import { childEnvironment } from './child-environment';
import { nameImplicitHost } from './implicit-host';
import type { FleetPlan, PlanSettings, PortForward, ServicePlan, SkippedReference, SkippedService } from './plan-model';
import { rewriteHosts, type HostContext, type HostRewrite } from './rewrite-hosts';
import { rewritePaths, type PathMount } from './rewrite-paths';
import { notesWithout, skippedServices } from './skipped-services';

/** Each probe is a process (a node process for Bulwark: about 50 ms of CPU), so never more often than this. */
export const probeIntervalMinMs = 500;
const defaultHostIp = '127.0.0.1';

function mountsOf(service: ProcessService, compose: ComposeFile, settings: PlanSettings): PathMount[] {
  return service.volumes.map((volume) => ({
    containerPath: volume.target,
    hostPath:
      volume.kind === 'named' ? join(settings.stateDir, volume.volume) : resolve(compose.projectDir, volume.hostPath),
  }));
}

function forwardsOf(service: ProcessService, portOffset: number): PortForward[] {
  return service.ports.map((port, index) => {
    const hostPort = port.hostPort === undefined ? 0 : port.hostPort + portOffset;
    if (hostPort > 65535) {
      throw new ComposeError(
        service.name,
        `ports[${index}]`,
        `host port ${port.hostPort} plus offset ${portOffset} is above 65535`,
      );
    }
    return { hostIp: port.hostIp ?? defaultHostIp, hostPort, containerPort: port.containerPort };
  });
}

function rewriteArguments(
  values: readonly string[],
  field: string,
  rewrite: (value: string) => HostRewrite,
  service: string,
) {
  const references: SkippedReference[] = [];
  const ownPorts: number[] = [];
  const rewritten = values.map((value, index) => {
    const result = rewrite(value);
    ownPorts.push(...result.ownPorts);
    for (const skippedService of new Set(result.skippedServices)) {
      references.push({ service, field: `${field}[${index}]`, skippedService, outcome: 'kept' });
    }
    return result.value;
  });
  return { values: rewritten, references, ownPorts };
}

function planService(
  service: ProcessService,
  context: HostContext,
  compose: ComposeFile,
  settings: PlanSettings,
): { plan: ServicePlan; references: SkippedReference[] } {
  const mounts = mountsOf(service, compose, settings);
  const rewrite = (value: string): HostRewrite => {
    const hosts = rewriteHosts(value, context);
    return { ...hosts, value: rewritePaths(hosts.value, mounts) };
  };
  const environment = childEnvironment(service, rewrite, settings.environment);
  const command = rewriteArguments(service.command, 'command', rewrite, service.name);
  // A probe is where a container talks to itself, so that is where a client's implicit host matters.
  const probeArgv = service.healthcheck && nameImplicitHost(service.healthcheck.argv);
  const probe = probeArgv && rewriteArguments(probeArgv.argv, 'healthcheck argv', rewrite, service.name);
  const forwards = forwardsOf(service, settings.portOffset);
  const ports = new Set([
    ...forwards.map((forward) => forward.containerPort),
    ...environment.ownPorts,
    ...command.ownPorts,
    ...(probe?.ownPorts ?? []),
    ...(probeArgv?.ownPorts ?? []),
  ]);
  const plan: ServicePlan = {
    name: service.name,
    address: context.ownAddress,
    command: command.values,
    environment: {
      ...environment.environment,
      ...settings.serviceEnvironment?.({ name: service.name, address: context.ownAddress }),
    },
    ports: [...ports].sort((a, b) => a - b),
    forwards,
    directories: mounts.map((mount) => mount.hostPath),
    restart: service.restart,
    stopGracePeriodMs: service.stopGracePeriodMs,
    startAfterHealthy: [],
  };
  if (service.healthcheck && probe) {
    plan.healthcheck = {
      argv: probe.values,
      timeoutMs: service.healthcheck.timeoutMs,
      intervalMs: Math.max(probeIntervalMinMs, service.healthcheck.startIntervalMs ?? 0),
    };
  }
  return { plan, references: [...environment.references, ...command.references, ...(probe?.references ?? [])] };
}

/** Fills startAfterHealthy; dependencies on unknown or skipped services are ignored, a cycle is an error. */
function orderStarts(services: ProcessService[], plans: Map<string, ServicePlan>): void {
  for (const service of services) {
    const plan = plans.get(service.name) as ServicePlan;
    for (const dependency of service.dependsOn) {
      const target = plans.get(dependency.service);
      if (dependency.condition !== 'service_healthy' || target === undefined) continue;
      if (target.healthcheck === undefined) {
        throw new ComposeError(service.name, `depends_on.${dependency.service}`, 'service_healthy needs a healthcheck');
      }
      plan.startAfterHealthy.push(dependency.service);
    }
  }
  const visiting = new Set<string>();
  const done = new Set<string>();
  const visit = (name: string, path: string[]): void => {
    if (done.has(name)) return;
    if (visiting.has(name)) {
      throw new ComposeError(name, 'depends_on', `waits for itself: ${[...path, name].join(' -> ')}`);
    }
    visiting.add(name);
    for (const next of plans.get(name)?.startAfterHealthy ?? []) visit(next, [...path, name]);
    visiting.delete(name);
    done.add(name);
  };
  for (const name of plans.keys()) visit(name, []);
}

function checkHostPortsUnique(plans: ServicePlan[]): void {
  const owners = new Map<number, string>();
  for (const plan of plans) {
    plan.forwards.forEach((forward, index) => {
      if (forward.hostPort === 0) return;
      const owner = owners.get(forward.hostPort);
      if (owner !== undefined) {
        throw new ComposeError(
          plan.name,
          `ports[${index}]`,
          `host port ${forward.hostPort} is also published by ${owner}`,
        );
      }
      owners.set(forward.hostPort, plan.name);
    });
  }
}

/** service with the user's variables that stand in for it, when settings naming it took theirs. */
function withStandIns(
  service: SkippedService,
  references: readonly SkippedReference[],
  environment: Readonly<Record<string, string | undefined>>,
): SkippedService {
  const variables = new Set(
    references
      .filter((reference) => reference.skippedService === service.name)
      .filter((reference) => reference.outcome === 'replaced by the launcher environment')
      .map((reference) => reference.field.replace(/^environment\./, '')),
  );
  if (variables.size === 0) return service;
  return { ...service, standIns: [...variables].sort().map((name) => `${name}=${environment[name] ?? ''}`) };
}

export function planFleet(compose: ComposeFile, settings: PlanSettings): FleetPlan {
  const skipped = skippedServices(compose, settings.programsOnPath);
  const skippedNames = new Set(skipped.map((service) => service.name));
  const running = compose.services.filter(
    (service): service is ProcessService => service.kind === 'process' && !skippedNames.has(service.name),
  );
  // Every service that can run somewhere gets its address, so no address moves with what is installed here.
  const plannedAddresses = planAddresses(
    compose.services.filter((service) => service.kind === 'process').map((service) => service.name),
    settings.subnet,
  );
  const addresses = new Map(running.map((service) => [service.name, plannedAddresses.get(service.name) as string]));
  const references: SkippedReference[] = [];
  const plans = new Map<string, ServicePlan>();
  for (const service of running) {
    const ownAddress = addresses.get(service.name) as string;
    const context = { ownName: service.name, ownAddress, addresses, skipped: skippedNames };
    const planned = planService(service, context, compose, settings);
    plans.set(service.name, planned.plan);
    references.push(...planned.references);
  }
  orderStarts(running, plans);
  checkHostPortsUnique([...plans.values()]);
  return {
    projectDir: compose.projectDir,
    services: [...plans.values()],
    skipped: skipped.map((service) => withStandIns(service, references, settings.environment)),
    references,
    notes: notesWithout(running, skippedNames),
    pages: running.flatMap((service) => (service.browse ?? []).map((page) => ({ service: service.name, ...page }))),
  };
}
