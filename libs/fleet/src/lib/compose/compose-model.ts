// What the launcher understands of a compose file, after validation. Only the
// fields it acts on are kept; everything else in the file is Docker's business.

/** When a service that exits on its own is started again (compose `restart`). */
export type RestartPolicy =
  { kind: 'no' } | { kind: 'always' } | { kind: 'unless-stopped' } | { kind: 'on-failure'; retriesMax?: number };

/** One `ports` entry. A lone container port gets any free host port, as Docker does. */
export interface PublishedPort {
  hostIp?: string;
  hostPort?: number;
  containerPort: number;
}

/** One `volumes` entry: a named volume or a host path (bind mount) seen at `target`. */
export type VolumeMount =
  { kind: 'named'; volume: string; target: string } | { kind: 'bind'; hostPath: string; target: string };

/** `healthcheck`, with CMD-SHELL and string forms already turned into `/bin/sh -c`. */
export interface Healthcheck {
  argv: string[];
  timeoutMs: number;
  startIntervalMs?: number;
}

export interface Dependency {
  service: string;
  condition: 'service_started' | 'service_healthy';
}

/**
 * A service run as a local process: one with `build` (the Bulwark image), or
 * one with only `image` whose command runs a program of localPrograms.
 */
export interface ProcessService {
  kind: 'process';
  name: string;
  /**
   * Set for an image service: its command's program comes from this
   * machine's PATH instead of the image, so it runs only where that is found.
   */
  image?: string;
  command: string[];
  /** null: take the value from the launcher's environment, as compose does for `NAME` without `=`. */
  environment: Record<string, string | null>;
  ports: PublishedPort[];
  volumes: VolumeMount[];
  healthcheck?: Healthcheck;
  restart: RestartPolicy;
  stopGracePeriodMs: number;
  dependsOn: Dependency[];
  /** `x-bulwark-launcher.skip-without`: services it must not run without; skipped when any of them is. */
  skipWithout?: string[];
  /** `x-bulwark-launcher.note-without` and `note`: it runs without them, differently, and the user is told. */
  noteWithout?: NoteWithout;
  /** `x-bulwark-launcher.browse`: pages it serves at published container ports, for the status table. */
  browse?: BrowsePage[];
}

/** A web page a service serves over plain HTTP at one of its published ports (a dashboard). */
export interface BrowsePage {
  page: string;
  containerPort: number;
}

/** What a service does when any of `services` is skipped, in a few words for the status table and log. */
export interface NoteWithout {
  services: string[];
  note: string;
}

/** A service with only `image` and no local program to run it (Jaeger): it needs Docker, so the launcher skips it. */
export interface ImageOnlyService {
  kind: 'image-only';
  name: string;
  image: string;
}

export type ComposeService = ProcessService | ImageOnlyService;

export interface ComposeFile {
  /** The compose file's directory: relative paths and the children's cwd start here, as in compose. */
  projectDir: string;
  services: ComposeService[];
  /** Names declared under the top-level `volumes`. */
  volumes: string[];
}
