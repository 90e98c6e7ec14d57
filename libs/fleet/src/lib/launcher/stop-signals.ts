// SIGINT and SIGTERM for the launcher: the first stops the fleet in order,
// a second one (an impatient Ctrl-C) kills everything at once. SIGHUP (the
// terminal closed) stops it too: its default action would end the launcher
// without the exit handler, and the services do not share its terminal.

const stopSignals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

/**
 * The same signal again within this window is the same stop: under
 * `npm start`, one Ctrl-C reaches the launcher twice, from the terminal and
 * forwarded by npm. A person's second Ctrl-C comes later than this.
 */
export const sameStopWindowMs = 1_000;

export class StopSignals {
  /** Resolves with the first stop signal. */
  readonly first: Promise<NodeJS.Signals>;
  private received = 0;
  private firstSignal: { signal: NodeJS.Signals; atMs: number } | undefined;
  private onFirst: (signal: NodeJS.Signals) => void = () => undefined;
  private onSecond: () => void = () => undefined;
  private readonly handle = (signal: NodeJS.Signals) => {
    const atMs = performance.now();
    if (!this.firstSignal) {
      this.firstSignal = { signal, atMs };
      this.received = 1;
      this.onFirst(signal);
      return;
    }
    if (signal === this.firstSignal.signal && atMs - this.firstSignal.atMs < sameStopWindowMs) return;
    this.received += 1;
    this.onSecond();
  };

  constructor() {
    this.first = new Promise((resolve) => {
      this.onFirst = resolve;
    });
    for (const signal of stopSignals) process.on(signal, this.handle);
  }

  /** True once a second signal came. */
  get forced(): boolean {
    return this.received > 1;
  }

  /** What a second signal does. */
  whenForced(action: () => void): void {
    this.onSecond = action;
  }

  dispose(): void {
    for (const signal of stopSignals) process.off(signal, this.handle);
  }
}
