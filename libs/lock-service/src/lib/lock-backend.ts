// The servers behind one lock-service instance: independent Redis servers
// (a majority of which must answer; tokens survive the loss of a minority),
// or this process's memory (one instance, forgotten at exit, for a machine
// without redis-server).
import { randomBytes } from 'node:crypto';
import { lockV1 } from '@bulwark/contracts';
import { LockQuorum, MemoryLockServer } from '@bulwark/lock-core';
import {
  parseReleasedMessage,
  RedisLockEvents,
  RedisLockServer,
  type LockEvent,
  type LockEventSource,
} from '@bulwark/lock-redis';
import type { Logger } from '@bulwark/logging';
import type { BackendDescription } from './lock-service';

/**
 * Every process's grant attempts must have ids no other process uses (an
 * undo frees only its own attempt): 96 random bits, in the characters
 * attempt ids allow.
 */
function newAttemptPrefix(): string {
  return randomBytes(12).toString('base64url');
}

export interface LockBackend {
  readonly quorum: LockQuorum;
  readonly events: LockEventSource;
  readonly description: BackendDescription;
  /** Resolves true once a majority of the servers is connected, false at the timeout. */
  ready(timeoutMs: number): Promise<boolean>;
  close(): Promise<void>;
}

export interface RedisBackendOptions {
  readonly servers: ReadonlyArray<{ readonly host: string; readonly port: number }>;
  /** How long one call to one server may take: a server that hangs costs this, never a wrong grant. */
  readonly callTimeoutMs: number;
  readonly logger: Logger;
}

export function redisBackend(options: RedisBackendOptions): LockBackend {
  const servers = options.servers.map(({ host, port }) => new RedisLockServer({ host, port }));
  const events = new RedisLockEvents({ servers: options.servers.map(({ host, port }) => ({ host, port })) });
  // A server without appendfsync always can forget a fence raise in a crash; without expiry events waiters rely on their re-checks.
  events.onServerCheck((check) => {
    if (check.problem === undefined) options.logger.info({ server: check.id }, 'lock server settings are safe');
    else
      options.logger.warn(
        { server: check.id, connected: check.connected },
        `lock server ${check.id}: ${check.problem}`,
      );
  });
  return {
    quorum: new LockQuorum({
      servers,
      nowMs: () => performance.now(),
      callTimeoutMs: options.callTimeoutMs,
      attemptPrefix: newAttemptPrefix(),
    }),
    events,
    description: { kind: lockV1.BackendKind.BACKEND_KIND_REDIS, servers: servers.length },
    ready: (timeoutMs) =>
      new Promise<boolean>((resolve) => {
        const majority = Math.floor(servers.length / 2) + 1;
        let connected = 0;
        let settled = 0;
        for (const server of servers) {
          server.waitUntilConnected(timeoutMs).then(
            () => {
              connected += 1;
              settled += 1;
              if (connected === majority) resolve(true);
              else if (settled === servers.length) resolve(connected >= majority);
            },
            () => {
              settled += 1;
              if (settled === servers.length) resolve(connected >= majority);
            },
          );
        }
      }),
    close: async () => {
      await Promise.all([...servers.map((server) => server.close()), events.close()]);
    },
  };
}

/** Events of the memory backend: this process makes every change, so it tells its own watchers. */
class LocalLockEvents implements LockEventSource {
  private readonly watchers = new Map<string, Set<(event: LockEvent, serverId: string) => void>>();

  async watch(name: string, listener: (event: LockEvent, serverId: string) => void): Promise<() => void> {
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

  async close(): Promise<void> {
    this.watchers.clear();
  }
}

export function memoryBackend(): LockBackend {
  const events = new LocalLockEvents();
  const server = new MemoryLockServer('memory', () => performance.now());
  // Published as the Redis scripts publish them: a release's token and attempt, or 'left'.
  server.onReleased = (name, message) => {
    const event = parseReleasedMessage(message);
    if (event) events.emit(name, event, server.id);
  };
  return {
    quorum: new LockQuorum({
      servers: [server],
      nowMs: () => performance.now(),
      callTimeoutMs: 1_000,
      attemptPrefix: newAttemptPrefix(),
    }),
    events,
    description: { kind: lockV1.BackendKind.BACKEND_KIND_MEMORY, servers: 1 },
    ready: async () => true,
    close: () => events.close(),
  };
}
