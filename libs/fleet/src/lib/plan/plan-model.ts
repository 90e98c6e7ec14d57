// The launcher's plan for a fleet: what each process gets, already rewritten
// for loopback addresses and host directories. Pure data, built from a compose
// file and the launcher's settings by planFleet.
import type { RestartPolicy } from '../compose/compose-model';

/** A published port: the launcher listens on hostIp:hostPort and pipes to the service's containerPort. */
export interface PortForward {
  hostIp: string;
  /** 0 for a lone container port in the compose file: any free port, as Docker does. */
  hostPort: number;
  containerPort: number;
}

export interface ProbePlan {
  argv: string[];
  timeoutMs: number;
  /** Time between probe starts until the service is healthy. */
  intervalMs: number;
}

export interface ServicePlan {
  name: string;
  address: string;
  command: string[];
  /** The child's whole environment (the launcher adds only BULWARK_FLEET_ID). */
  environment: Record<string, string>;
  /** Container ports the service is known to serve on its address: published ones and those its settings name. */
  ports: number[];
  forwards: PortForward[];
  /** Host directories standing in for volumes, created before the first start. */
  directories: string[];
  healthcheck?: ProbePlan;
  restart: RestartPolicy;
  stopGracePeriodMs: number;
  /** Services that must be healthy before this one starts (depends_on with condition service_healthy). */
  startAfterHealthy: string[];
}

export interface SkippedService {
  name: string;
  image: string;
}

/**
 * A setting that names a skipped service as a host. An environment variable
 * is dropped, or replaced by the launcher's own value of that variable; a
 * command or healthcheck argument is kept, as there is nothing to drop it for.
 */
export interface SkippedReference {
  service: string;
  field: string;
  skippedService: string;
  outcome: 'dropped' | 'replaced by the launcher environment' | 'kept';
}

export interface FleetPlan {
  projectDir: string;
  /** In compose order, which is also the start order unless a service waits for a healthy one. */
  services: ServicePlan[];
  skipped: SkippedService[];
  references: SkippedReference[];
}

export interface PlanSettings {
  /** The first three octets of a loopback /24; services get .2, .3, ... */
  subnet: string;
  /** Absolute directory holding one directory per named volume. */
  stateDir: string;
  /** Added to every published host port, so a second fleet (or a test) can run beside the default one. */
  portOffset: number;
  /** The launcher's own environment: only PATH, HOME and OTEL_* reach the services from it. */
  environment: Readonly<Record<string, string | undefined>>;
}
