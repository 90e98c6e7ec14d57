// What the chaos run's workloads share: concurrent client loops that run
// until stop(), and how a call that failed is recorded.
import { BulwarkError, FailedPreconditionError, InvalidArgumentError } from '@bulwark/errors';

/** A failed call's text in the history: the error's kind and message. */
export function describeError(error: unknown): string {
  return error instanceof BulwarkError ? `${error.kind}: ${error.message}` : String(error);
}

/**
 * Records a call that changes state (a write, an acquire, a release) and
 * failed: failed when the service refused it, which is final (a retried
 * write answers with its first outcome, by its request id), otherwise of
 * unknown outcome: it may have taken effect.
 */
export function settleFailedCall(pending: { fail(error: string): void; unknown(error: string): void }, error: unknown) {
  if (error instanceof InvalidArgumentError || error instanceof FailedPreconditionError) {
    pending.fail(describeError(error));
  } else pending.unknown(describeError(error));
}

/** Client loops, one per client, started by start() and run until stop(). */
export abstract class ClientLoops {
  private stopping = false;
  private loops: Promise<void>[] = [];
  /** Calls made so far, by every client. */
  completed = 0;

  /** Lets every client finish what it is in the middle of, then resolves. */
  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.all(this.loops);
  }

  protected get running(): boolean {
    return !this.stopping;
  }

  protected start(clients: number): void {
    this.loops = Array.from({ length: clients }, (_, index) => this.loop(index));
  }

  protected abstract loop(index: number): Promise<void>;
}
