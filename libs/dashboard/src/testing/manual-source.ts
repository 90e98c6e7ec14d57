// A DashboardSource whose snapshots a test hands in, for serving the
// dashboard without a monitor.
import type { DashboardSnapshot, DashboardSource } from '../lib/dashboard-snapshot';

export class ManualDashboardSource implements DashboardSource {
  private readonly listeners = new Set<(snapshot: DashboardSnapshot) => void>();

  constructor(private current: DashboardSnapshot) {}

  snapshot(): DashboardSnapshot {
    return this.current;
  }

  subscribe(listener: (snapshot: DashboardSnapshot) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Makes snapshot the current one and tells every subscriber. */
  publish(snapshot: DashboardSnapshot): void {
    this.current = snapshot;
    for (const listener of this.listeners) listener(snapshot);
  }

  get subscriberCount(): number {
    return this.listeners.size;
  }
}
