// The body of every service's main: validated config (exit 2 with one line on
// a bad variable), a JSON logger, the server with health and reflection, and
// signal handling that drains and exits 0.
import {
  ConfigError,
  formatHostPort,
  loadConfigOrExit,
  serviceSettings,
  type ConfigOf,
  type Schema,
} from '@bulwark/config';
import { createLogger, type Logger } from '@bulwark/logging';
import type { HandlerKit } from './handlers';
import { exitOnSignals } from './process';
import { startServer, type RunningServer, type ServiceBinding } from './server';

type CommonConfig = ConfigOf<ReturnType<typeof serviceSettings>>;

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
  /** Runs once the server is bound (registration, background loops). */
  started?: (config: CommonConfig & ConfigOf<S>, logger: Logger, server: RunningServer) => void;
  onStopped?: Array<() => Promise<void>>;
}

export async function runService<S extends Schema>(spec: ServiceSpec<S>): Promise<void> {
  const config = loadConfigOrExit(spec.service, {
    ...serviceSettings(spec.defaultPort),
    ...spec.settings,
  }) as CommonConfig & ConfigOf<S>;
  try {
    spec.validate?.(config);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`${spec.service}: invalid configuration: ${error.message}\n`);
    process.exit(2);
  }
  const logger = createLogger({ service: spec.service, memberId: config.memberId, level: config.logLevel });
  let server: RunningServer;
  try {
    await spec.prepare?.(config, logger);
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
  exitOnSignals({ logger, server, drainDeadlineMs: config.drainDeadlineMs, onStopped: spec.onStopped ?? [] });
  spec.started?.(config, logger, server);
}
