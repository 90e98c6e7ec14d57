// The router's current RoutingTable, kept from a topology source (the
// coordinator watch), with the two waits retries need: until the table has
// caught up with a revision a replica reported, and until routing itself
// changes (a group's epoch, primary or members, the ring, an address).
// Lease renewals are revisions too, several a second per group, and wake
// nobody: they change nothing a route depends on.
import type { coordinatorV1 } from '@bulwark/contracts';
import { CancelledError, DeadlineExceededError } from '@bulwark/errors';
import { RoutingTable } from './routing-table';

/** What the router needs of a TopologyWatcher. */
export interface TopologySource {
  current(): { readonly revision: bigint; readonly topology: coordinatorV1.Topology } | undefined;
  onChange(listener: (topology: coordinatorV1.Topology) => void): () => void;
}

interface RevisionWaiter {
  readonly revision: bigint;
  readonly resolve: () => void;
}

export class RoutingView {
  private table: RoutingTable | undefined;
  /** routingChange calls still waiting; each leaves the set when it resolves, by a change or by its timeout. */
  private readonly routingWaiters = new Set<() => void>();
  private readonly revisionWaiters = new Set<RevisionWaiter>();
  private readonly routingListeners = new Set<(table: RoutingTable) => void>();
  private readonly unsubscribe: () => void;
  private closed = false;

  constructor(source: TopologySource) {
    this.unsubscribe = source.onChange((topology) => this.update(topology));
    const current = source.current();
    if (current) this.update(current.topology);
  }

  /** The latest table, or undefined before the first topology. */
  current(): RoutingTable | undefined {
    return this.table;
  }

  /** The table once there is one; DeadlineExceededError if none comes within timeoutMs. */
  async ready(timeoutMs: number): Promise<RoutingTable> {
    if (this.table) return this.table;
    await this.until(() => this.table !== undefined, timeoutMs);
    if (!this.table) throw new DeadlineExceededError('the router has no topology from the coordinators yet');
    return this.table;
  }

  /** Resolves once the table is at revision or later, or after timeoutMs (whichever first). */
  caughtUp(revision: bigint, timeoutMs: number): Promise<void> {
    if ((this.table?.revision ?? -1n) >= revision || timeoutMs <= 0 || this.closed) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const waiter: RevisionWaiter = {
        revision,
        resolve: () => {
          clearTimeout(timer);
          this.revisionWaiters.delete(waiter);
          resolve();
        },
      };
      const timer = setTimeout(waiter.resolve, timeoutMs);
      this.revisionWaiters.add(waiter);
    });
  }

  /** Resolves at the next change of routing, or after timeoutMs. */
  routingChange(timeoutMs: number): Promise<void> {
    if (timeoutMs <= 0 || this.closed) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const waiter = () => {
        clearTimeout(timer);
        this.routingWaiters.delete(waiter);
        resolve();
      };
      const timer = setTimeout(waiter, timeoutMs);
      this.routingWaiters.add(waiter);
    });
  }

  /** Calls listener with every table that changes routing; returns the function that removes it. */
  onRoutingChange(listener: (table: RoutingTable) => void): () => void {
    this.routingListeners.add(listener);
    return () => this.routingListeners.delete(listener);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.unsubscribe();
    for (const waiter of [...this.routingWaiters]) waiter();
    for (const waiter of [...this.revisionWaiters]) waiter.resolve();
  }

  private update(topology: coordinatorV1.Topology): void {
    const previous = this.table;
    if (previous && topology.revision <= previous.revision) return;
    const next = RoutingTable.from(topology, previous);
    this.table = next;
    for (const waiter of [...this.revisionWaiters]) {
      if (waiter.revision <= next.revision) waiter.resolve();
    }
    if (!previous || previous.routingKey !== next.routingKey) {
      for (const waiter of [...this.routingWaiters]) waiter();
      for (const listener of this.routingListeners) listener(next);
    }
  }

  private async until(condition: () => boolean, timeoutMs: number): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    while (!condition()) {
      if (this.closed) throw new CancelledError('the router is stopping');
      const left = deadline - performance.now();
      if (left <= 0) return;
      await this.routingChange(left);
    }
  }
}
