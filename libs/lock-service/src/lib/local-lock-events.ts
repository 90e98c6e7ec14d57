// Lock events within one process: the memory backend's (this process makes
// every change, so it tells its own watchers), and tests'.
import type { MemoryLockServer } from '@bulwark/lock-core';
import { parseReleasedMessage, type LockEvent, type LockEventSource } from '@bulwark/lock-redis';

type Listener = (event: LockEvent, serverId: string) => void;

export class LocalLockEvents implements LockEventSource {
  private readonly watchers = new Map<string, Set<Listener>>();

  async watch(name: string, listener: Listener): Promise<() => void> {
    let listeners = this.watchers.get(name);
    if (!listeners) {
      listeners = new Set();
      this.watchers.set(name, listeners);
    }
    listeners.add(listener);
    return () => {
      listeners.delete(listener);
      if (listeners.size === 0) this.watchers.delete(name);
    };
  }

  emit(name: string, event: LockEvent, serverId: string): void {
    for (const listener of [...(this.watchers.get(name) ?? [])]) listener(event, serverId);
  }

  /** Publishes what server tells of (a release's token and attempt, or 'left'), as the Redis scripts do. */
  publishFrom(server: MemoryLockServer): void {
    server.onReleased = (name, message) => {
      const event = parseReleasedMessage(message);
      if (event) this.emit(name, event, server.id);
    };
  }

  /** How many listeners watch name. */
  watching(name: string): number {
    return this.watchers.get(name)?.size ?? 0;
  }

  async close(): Promise<void> {
    this.watchers.clear();
  }
}
