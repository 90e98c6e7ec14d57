import { SerialQueue } from './serial-queue';

/** A promise and the functions that settle it. */
function deferred(): { promise: Promise<void>; resolve: () => void; reject: (error: Error) => void } {
  let resolve!: () => void;
  let reject!: (error: Error) => void;
  const promise = new Promise<void>((resolveIt, rejectIt) => {
    resolve = resolveIt;
    reject = rejectIt;
  });
  return { promise, resolve, reject };
}

describe('SerialQueue', () => {
  it('runs tasks one at a time, in the order they were enqueued', async () => {
    const queue = new SerialQueue(() => undefined);
    const first = deferred();
    const events: string[] = [];
    const done = [
      queue.enqueue(async () => {
        events.push('first starts');
        await first.promise;
        events.push('first ends');
      }),
      queue.enqueue(async () => void events.push('second runs')),
    ];
    await Promise.resolve();
    expect(queue.pending).toBe(2);
    expect(events).toEqual(['first starts']);
    first.resolve();
    await Promise.all(done);
    expect(events).toEqual(['first starts', 'first ends', 'second runs']);
  });

  it('runs the next task after a failed one, which rejects with its own error', async () => {
    const queue = new SerialQueue(() => undefined);
    const failing = queue.enqueue(async () => {
      throw new Error('EIO');
    });
    const next = queue.enqueue(async () => undefined);
    await expect(failing).rejects.toThrow('EIO');
    await expect(next).resolves.toBeUndefined();
  });

  it('calls onIdle once the last pending task has settled, with pending back at 0', async () => {
    const seenPending: number[] = [];
    const queue = new SerialQueue(() => seenPending.push(queue.pending));
    await Promise.allSettled([
      queue.enqueue(async () => undefined),
      queue.enqueue(async () => {
        throw new Error('failed');
      }),
    ]);
    expect(seenPending).toEqual([0]);
    expect(queue.pending).toBe(0);
  });
});
