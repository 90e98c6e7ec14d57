// The preloaded register module and the app's main are separate bundles; a
// process-global hook lets main flush spans on shutdown without importing
// the SDK itself.
const hookKey = Symbol.for('bulwark.telemetry.shutdown');

type Holder = { [hookKey]?: () => Promise<void> };

export function setTelemetryShutdown(shutdown: () => Promise<void>): void {
  (globalThis as Holder)[hookKey] = shutdown;
}

/** Flushes and stops tracing if the preload started it; a no-op otherwise. */
export async function flushTelemetry(): Promise<void> {
  await (globalThis as Holder)[hookKey]?.();
}
