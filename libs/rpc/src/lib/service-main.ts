// The body of every service's main: validated config (exit 2 with one line on
// a bad variable), a JSON logger, outgoing connections from the service's
// own loopback address when it listens on one, the failpoints (BULWARK_FAILPOINTS, and
// their control endpoint at BULWARK_FAILPOINTS_ADDR), the server with health
// and reflection, the Prometheus endpoint (BULWARK_METRICS_ADDR), and signal
// handling that drains and exits 0.
import {
  ConfigError,
  formatHostPort,
  loadConfigOrExit,
  serviceSettings,
  type ConfigOf,
  type HostPort,
  type Schema,
} from '@bulwark/config';
import {
  failpoints,
  failpointSettings,
  formatFailpointSpec,
  startFailpointControl,
  type FailpointControl,
} from '@bulwark/failpoints';
import { createLogger, type Logger } from '@bulwark/logging';
import { startMetricsServer, type MetricsServer } from '@bulwark/metrics';
import type { HandlerKit } from './handlers';
import { exitOnSignals } from './process';
import { connectFromListenAddress } from './source-address';
import { startServer, type RunningServer, type ServiceBinding } from './server';

type CommonConfig = ConfigOf<ReturnType<typeof serviceSettings>>;
type FailpointConfig = ConfigOf<ReturnType<typeof failpointSettings>>;

/** The running server as a service's `started` hook sees it. */
export interface StartedServer extends RunningServer {
  /**
   * host:port where Prometheus scrapes this process, a wildcard host
   * replaced by the advertised one (BULWARK_ADVERTISE_ADDR's host), as
   * other members reach it; undefined with BULWARK_METRICS_ADDR=off.
   */
  readonly metricsAddress: string | undefined;
}

/** Hosts that mean every interface: nobody can connect to them from elsewhere. */
const wildcardHosts = new Set(['0.0.0.0', '[::]']);

/** Where the metrics are reached from elsewhere: the bound port, on the advertised host if bound to all interfaces. */
export function reachableMetricsAddress(bound: HostPort, advertised: HostPort): string {
  return formatHostPort({ host: wildcardHosts.has(bound.host) ? advertised.host : bound.host, port: bound.port });
}

/**
 * Where the metrics endpoint listens: by default on the gRPC listener's
 * host and a free port, so services sharing a host never clash; undefined when off.
 */
export function metricsListenAddress(config: CommonConfig): HostPort | undefined {
  if (config.metricsAddress === 'off') return undefined;
  return config.metricsAddress ?? { host: config.listenAddress.host, port: 0 };
}

export interface ServiceSpec<S extends Schema> {
  /** The app's name, as in OTEL_SERVICE_NAME and log lines. */
  service: string;
  defaultPort: number;
  /** Largest message the server accepts (grpc-js default 4 MiB). */
  receiveMessageBytesMax?: number;
  /** Settings beyond the common ones (BULWARK_MEMBER_ID, BULWARK_LISTEN_ADDR, ...). */
  settings: S;
  /** Checks across settings; throws ConfigError, reported like a bad variable. */
  validate?: (config: CommonConfig & ConfigOf<S>) => void;
  /** Opens what the services need before the server binds (durable state); a failure exits 1 with one line. */
  prepare?: (config: CommonConfig & ConfigOf<S>, logger: Logger) => Promise<void>;
  services: (kit: HandlerKit, config: CommonConfig & ConfigOf<S>, logger: Logger) => ServiceBinding[];
  /** Runs once the server and the metrics endpoint are bound (registration, background loops). */
  started?: (config: CommonConfig & ConfigOf<S>, logger: Logger, server: StartedServer) => void;
  /** Run beside the drain, from its start (see LifecycleOptions.onDraining). */
  onDraining?: Array<() => Promise<void>>;
  onStopped?: Array<() => Promise<void>>;
}

export async function runService<S extends Schema>(spec: ServiceSpec<S>): Promise<void> {
  const config = loadConfigOrExit(spec.service, {
    ...serviceSettings(spec.defaultPort),
    ...failpointSettings(spec.service),
    ...spec.settings,
  }) as CommonConfig & FailpointConfig & ConfigOf<S>;
  try {
    spec.validate?.(config);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`${spec.service}: invalid configuration: ${error.message}\n`);
    process.exit(2);
  }
  const logger = createLogger({ service: spec.service, memberId: config.memberId, level: config.logLevel });
  // Before any client connects: a service on its own loopback address also connects from it (source-address.ts).
  connectFromListenAddress(config.listenAddress.host);
  // Before the durable state is opened, so a failpoint in recovery fires too.
  for (const setting of config.failpoints) failpoints.set(setting);
  if (config.failpoints.length > 0) {
    const terms = config.failpoints.map((setting) => `${setting.name}=${formatFailpointSpec(setting.spec)}`);
    logger.warn({ failpoints: terms }, 'failpoints set');
  }
  let server: RunningServer;
  const metricsListen = metricsListenAddress(config);
  let metrics: MetricsServer | undefined;
  let failpointControl: FailpointControl | undefined;
  try {
    // Before prepare as well: a chaos run can reach a member whose recovery it is stalling.
    failpointControl =
      config.failpointsAddress &&
      (await startFailpointControl({ ...config.failpointsAddress, service: spec.service, logger }));
    await spec.prepare?.(config, logger);
    metrics = metricsListen && (await startMetricsServer({ ...metricsListen, logger }));
    server = await startServer(
      {
        address: formatHostPort(config.listenAddress),
        logger,
        drainDeadlineMs: config.drainDeadlineMs,
        ...(spec.receiveMessageBytesMax ? { receiveMessageBytesMax: spec.receiveMessageBytesMax } : {}),
      },
      (kit) => spec.services(kit, config, logger),
    );
  } catch (error) {
    // One clear line for the operator (a port in use, corrupt durable state), details in the log.
    logger.fatal({ err: error, address: formatHostPort(config.listenAddress) }, 'cannot start');
    process.stderr.write(`${spec.service}: cannot start: ${(error as Error).message}\n`);
    process.exit(1);
  }
  exitOnSignals({
    logger,
    server,
    drainDeadlineMs: config.drainDeadlineMs,
    ...(spec.onDraining ? { onDraining: spec.onDraining } : {}),
    // Closed last: a scrape during the drain shows it.
    onStopped: [...(spec.onStopped ?? []), async () => failpointControl?.close(), async () => metrics?.close()],
  });
  const metricsAddress =
    metricsListen && metrics
      ? reachableMetricsAddress({ host: metricsListen.host, port: metrics.port }, config.advertiseAddress)
      : undefined;
  spec.started?.(config, logger, { ...server, metricsAddress });
}
