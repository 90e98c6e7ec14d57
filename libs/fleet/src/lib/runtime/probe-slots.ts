// Bounds how many probes run at once: each probe is a process (a whole Node
// runtime for Bulwark's health probe) and the machine may have two cores.

export class ProbeSlots {
  private inUse = 0;
  /** At most one waiter per service, as each service has at most one probe in flight. */
  private readonly waiting: Array<() => void> = [];

  constructor(private readonly slotsMax: number) {}

  /** Waits for a free slot; returns the function that gives it back. Rejects if aborted while waiting. */
  async acquire(signal: AbortSignal): Promise<() => void> {
    signal.throwIfAborted();
    if (this.inUse < this.slotsMax) this.inUse += 1;
    else await this.waitForHandOver(signal);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiting.shift();
      if (next) next();
      else this.inUse -= 1;
    };
  }

  private waitForHandOver(signal: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      const wake = () => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      };
      const onAbort = () => {
        this.waiting.splice(this.waiting.indexOf(wake), 1);
        reject(signal.reason);
      };
      this.waiting.push(wake);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }
}
