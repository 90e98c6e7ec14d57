// Runs asynchronous tasks one at a time, in the order they were enqueued:
// what keeps WAL appends in order when the next is asked for while the
// previous one's write or fdatasync is still on the thread pool. Unbounded
// by itself: each user checks its own limit (`pending`, say) before enqueuing.

export class SerialQueue {
  private tail: Promise<void> = Promise.resolve();
  private pendingTasks = 0;

  /** Called whenever the last pending task has settled. */
  constructor(private readonly onIdle: () => void) {}

  /** Tasks enqueued and not yet settled, the running one included. */
  get pending(): number {
    return this.pendingTasks;
  }

  /**
   * Runs `task` once every task enqueued before it has settled, whatever
   * their outcome; its promise settles as the task's does. `pending` already
   * counts it out by the time the caller, or the next task, sees that.
   */
  enqueue(task: () => Promise<void>): Promise<void> {
    this.pendingTasks++;
    const settled = this.tail.then(task).finally(() => {
      this.pendingTasks--;
      if (this.pendingTasks === 0) this.onIdle();
    });
    this.tail = settled.catch(() => undefined);
    return settled;
  }
}
