// The servers behind one lock-service instance: independent Redis servers
// (a majority of which must answer; tokens survive the loss of a minority),
// or this process's memory (one instance, forgotten at exit, for a machine
// without redis-server).
import { randomBytes } from 'node:crypto';
import { lockV1 } from '@bulwark/contracts';
import { LockQuorum, MemoryLockServer } from '@bulwark/lock-core';
import { RedisLockEvents, RedisLockServer, type LockEventSource } from '@bulwark/lock-redis';
import type { Logger } from '@bulwark/logging';
import type { BackendDescription } from './lock-service';
import { LocalLockEvents } from './local-lock-events';

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

export function memoryBackend(): LockBackend {
  const events = new LocalLockEvents();
  const server = new MemoryLockServer('memory', () => performance.now());
  events.publishFrom(server);
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
