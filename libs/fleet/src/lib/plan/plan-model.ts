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

/**
 * image-only: no local program can stand in for the image; program-not-found:
 * the one it needs is not on PATH; needs-skipped: its x-bulwark-launcher
 * skip-without names these services, which are skipped.
 */
export type SkipReason =
  | { kind: 'image-only' }
  | { kind: 'program-not-found'; program: string }
  | { kind: 'needs-skipped'; services: string[] };

export interface SkippedService {
  name: string;
  /** Unset for a build service, skipped only for needing skipped services. */
  image?: string;
  because: SkipReason;
  /**
   * The launcher-environment variables used in its place, `NAME=value`: the
   * settings naming it took the user's own value (an OTLP endpoint for Jaeger).
   */
  standIns?: string[];
}

/** A service that runs without some skipped services, differently (x-bulwark-launcher note-without). */
export interface ServiceNote {
  service: string;
  /** The skipped ones among its note-without services. */
  without: string[];
  note: string;
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

/** A page a running service serves (x-bulwark-launcher.browse), for the status table. */
export interface ServicePage {
  service: string;
  page: string;
  containerPort: number;
}

export interface FleetPlan {
  projectDir: string;
  /** In compose order, which is also the start order unless a service waits for a healthy one. */
  services: ServicePlan[];
  skipped: SkippedService[];
  references: SkippedReference[];
  notes: ServiceNote[];
  pages: ServicePage[];
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
  /**
   * Which programs image services need (programsNeeded) are on the PATH of
   * `environment`, looked up at launch (findProgramsOnPath) so that planning
   * reads no files. An image service missing one is skipped, and so is a
   * service whose skip-without names a skipped service.
   */
  programsOnPath: ReadonlySet<string>;
  /**
   * Variables one service gets besides its compose environment, last (a
   * tool's, never a user's: the chaos run gives each Bulwark service its
   * failpoint control address). Unset: none.
   */
  serviceEnvironment?: (service: { name: string; address: string }) => Readonly<Record<string, string>>;
}
