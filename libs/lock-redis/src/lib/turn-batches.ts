// Commands sent within one turn of the event loop leave in one write (one
// pipeline), as ioredis's auto-pipelining would send them, but a batch never
// waits for the one before it to be answered. Auto-pipelining keeps one
// batch in flight per connection: on a hot lock, a turn's release (on the
// path from one holder to the next) queued behind the previous turn's
// enqueue and waited out its round trip, fsync included, on every server.
import type Redis from 'ioredis';
import type { ChainableCommander } from 'ioredis';

type Settle = (error: Error | null, value?: unknown) => void;

interface Batch {
  readonly pipeline: ChainableCommander;
  readonly settles: Settle[];
}

export class TurnBatches {
  private open: Batch | undefined;

  constructor(private readonly redis: Redis) {}

  /** Adds one command to this turn's batch; resolves with its reply, or rejects with its error. */
  send(add: (pipeline: ChainableCommander) => unknown): Promise<unknown> {
    let batch = this.open;
    if (!batch) {
      const opened: Batch = { pipeline: this.redis.pipeline(), settles: [] };
      this.open = batch = opened;
      // After this turn's I/O callbacks, as auto-pipelining: the commands they send join the batch.
      setImmediate(() => this.flush(opened));
    }
    const { settles, pipeline } = batch;
    return new Promise((resolve, reject) => {
      // Replies are matched by position: the slot is taken only once the command is in the pipeline (an add that
      // throws, building its arguments, adds nothing and rejects this call alone).
      const queued = pipeline.length;
      add(pipeline);
      if (pipeline.length !== queued + 1) {
        throw new Error(`a batched call must add exactly one command; it added ${pipeline.length - queued}`);
      }
      settles.push((error, value) => (error ? reject(error) : resolve(value)));
    });
  }

  private flush(batch: Batch): void {
    if (this.open === batch) this.open = undefined;
    batch.pipeline.exec((error, results) => {
      batch.settles.forEach((settle, index) => {
        const reply = results?.[index];
        if (reply) settle(reply[0], reply[1]);
        else settle(error ?? new Error('the pipeline ended without a reply'));
      });
    });
  }
}
