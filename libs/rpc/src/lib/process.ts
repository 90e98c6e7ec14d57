// Process lifecycle for a service's main: SIGTERM or SIGINT drains the server
// (running the draining hooks beside it, from its start) and exits 0; a
// second signal, or a drain that outlives its deadline plus a margin, exits
// 1. An uncaught error is logged and exits 1.
import type { Logger } from '@bulwark/logging';
import type { RunningServer } from './server';

export interface LifecycleOptions {
  logger: Logger;
  server: RunningServer;
  drainDeadlineMs: number;
  /**
   * Run beside the drain, from its start: telling others to stop relying on
   * this process (leaving the topology) while its calls still finish.
   * Errors are logged; the exit waits for them and the drain, so each must
   * end within a bound of its own shorter than the last resort's 5 s past
   * the drain deadline (leaving the topology takes at most 3.5 s).
   */
  onDraining?: Array<() => Promise<void>>;
  /** Run after the drain, before exit (flush telemetry, close stores); errors are logged. */
  onStopped?: Array<() => Promise<void>>;
}

export function exitOnSignals(options: LifecycleOptions): void {
  const { logger, server } = options;
  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) {
      logger.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    stopping = true;
    // Bounded: the drain forces calls closed at its deadline; this is the last resort.
    setTimeout(() => {
      logger.error('shutdown did not finish in time');
      process.exit(1);
    }, options.drainDeadlineMs + 5_000).unref();
    // Through a promise: a hook that throws at once is logged like one that rejects, and never ends the shutdown.
    const run = (hook: () => Promise<void>, what: string) =>
      Promise.resolve()
        .then(hook)
        .catch((error: unknown) => logger.error({ err: error }, `${what} failed`));
    void (async () => {
      await Promise.all([
        server.drain(`received ${signal}`),
        ...(options.onDraining ?? []).map((hook) => run(hook, 'draining hook')),
      ]);
      for (const hook of options.onStopped ?? []) await run(hook, 'shutdown hook');
      logger.info({ signal }, 'stopped');
      process.exit(0);
    })();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  process.on('uncaughtException', (error) => {
    logger.fatal({ err: error }, 'uncaught exception');
    process.exit(1);
  });
  process.on('unhandledRejection', (error) => {
    logger.fatal({ err: error }, 'unhandled rejection');
    process.exit(1);
  });
}
