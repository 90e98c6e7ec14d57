// The simulator's agenda: events by time, ties in the order they were
// scheduled, so one seed always runs the same way.
interface Scheduled {
  readonly atMs: number;
  readonly order: number;
  readonly run: () => void;
}

export class EventQueue {
  private readonly heap: Scheduled[] = [];
  private scheduled = 0;

  get size(): number {
    return this.heap.length;
  }

  schedule(atMs: number, run: () => void): void {
    this.heap.push({ atMs, order: this.scheduled++, run });
    let index = this.heap.length - 1;
    while (index > 0) {
      const parent = (index - 1) >> 1;
      if (!before(this.heap[index] as Scheduled, this.heap[parent] as Scheduled)) break;
      [this.heap[index], this.heap[parent]] = [this.heap[parent] as Scheduled, this.heap[index] as Scheduled];
      index = parent;
    }
  }

  /** The next event, removed; undefined when none is left. */
  next(): Scheduled | undefined {
    const top = this.heap[0];
    const last = this.heap.pop();
    if (top === undefined || last === undefined || this.heap.length === 0) return top;
    this.heap[0] = last;
    let index = 0;
    for (;;) {
      const left = index * 2 + 1;
      const right = left + 1;
      let smallest = index;
      if (left < this.heap.length && before(this.heap[left] as Scheduled, this.heap[smallest] as Scheduled))
        smallest = left;
      if (right < this.heap.length && before(this.heap[right] as Scheduled, this.heap[smallest] as Scheduled))
        smallest = right;
      if (smallest === index) return top;
      [this.heap[index], this.heap[smallest]] = [this.heap[smallest] as Scheduled, this.heap[index] as Scheduled];
      index = smallest;
    }
  }
}

function before(a: Scheduled, b: Scheduled): boolean {
  return a.atMs < b.atMs || (a.atMs === b.atMs && a.order < b.order);
}
