// Commands sent within one turn of the event loop leave in one write (one
// pipeline), as ioredis's auto-pipelining would send them, but a batch never
// waits for the one before it to be answered. Auto-pipelining keeps one
// batch in flight per connection: on a hot lock, a turn's release (on the
// path from one holder to the next) queued behind the previous turn's
// enqueue and waited out its round trip, fsync included, on every server.
import type Redis from 'ioredis';
import type { ChainableCommander } from 'ioredis';

/** A call waiting for the reply at its command's position in the pipeline. */
interface Waiting {
  readonly position: number;
  readonly settle: (error: Error | null, value?: unknown) => void;
}

interface Batch {
  readonly pipeline: ChainableCommander;
  readonly waiting: Waiting[];
}

export class TurnBatches {
  private open: Batch | undefined;

  constructor(private readonly redis: Redis) {}

  /** Adds one command to this turn's batch; resolves with its reply, or rejects with its error. */
  send(add: (pipeline: ChainableCommander) => unknown): Promise<unknown> {
    let batch = this.open;
    if (!batch) {
      const opened: Batch = { pipeline: this.redis.pipeline(), waiting: [] };
      this.open = batch = opened;
      // After this turn's I/O callbacks, as auto-pipelining: the commands they send join the batch.
      setImmediate(() => this.flush(opened));
    }
    const { waiting, pipeline } = batch;
    return new Promise((resolve, reject) => {
      // Each call reads the reply at the position its command took, so a call that adds nothing (its arguments
      // threw) or more than one command (refused here, its commands run unread) leaves every other reply in place.
      const position = pipeline.length;
      add(pipeline);
      if (pipeline.length !== position + 1) {
        throw new Error(`a batched call must add exactly one command; it added ${pipeline.length - position}`);
      }
      waiting.push({ position, settle: (error, value) => (error ? reject(error) : resolve(value)) });
    });
  }

  private flush(batch: Batch): void {
    if (this.open === batch) this.open = undefined;
    batch.pipeline.exec((error, results) => {
      for (const { position, settle } of batch.waiting) {
        const reply = results?.[position];
        if (reply) settle(reply[0], reply[1]);
        else settle(error ?? new Error('the pipeline ended without a reply'));
      }
    });
  }
}
