// The servers behind one lock-service instance: independent Redis servers
// (a majority of which must answer; tokens survive the loss of a minority),
// or this process's memory (one instance, forgotten at exit, for a machine
// without redis-server).
import { randomBytes } from 'node:crypto';
import { lockV1 } from '@bulwark/contracts';
import { LockQuorum, MemoryLockServer } from '@bulwark/lock-core';
import { RedisLockEvents, RedisLockServers, type LockEventSource, type ServerMarkReport } from '@bulwark/lock-redis';
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
  /** Resolves true once a majority of the servers is connected (and, for Redis, marked), false at the timeout. */
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
  const { logger } = options;
  const addresses = options.servers.map(({ host, port }) => ({ host, port }));
  const group = new RedisLockServers({
    servers: addresses,
    callTimeoutMs: options.callTimeoutMs,
    onReport: (report) => logMarkReport(logger, report),
  });
  const { servers } = group;
  const events = new RedisLockEvents({ servers: addresses });
  // A server without appendfsync always is restored before it counts again after a restart; without expiry events waiters rely on their re-checks.
  events.onServerCheck((check) => {
    if (check.problem === undefined) logger.info({ server: check.id }, 'lock server settings are safe');
    else logger.warn({ server: check.id, connected: check.connected }, `lock server ${check.id}: ${check.problem}`);
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
    ready: (timeoutMs) => group.waitUntilCounted(timeoutMs),
    close: async () => {
      await Promise.all([group.close(), events.close()]);
    },
  };
}

function logMarkReport(logger: Logger, report: ServerMarkReport): void {
  switch (report.kind) {
    case 'new-cluster':
      logger.info({ servers: report.servers }, 'lock servers marked as a new cluster');
      break;
    case 'restoring':
      logger.warn(
        { server: report.server, sources: report.sources },
        `lock server ${report.server} has no mark (new, or it lost its data): restoring it from ${report.sources.join(', ')}`,
      );
      break;
    case 'restored':
      logger.info(
        { server: report.server, keys: report.keys, sources: report.sources },
        `lock server ${report.server} restored and marked: it counts again`,
      );
      break;
    case 'restore-failed':
      logger.warn({ server: report.server }, `lock server ${report.server}: restore failed: ${report.problem}`);
      break;
    case 'waiting': {
      const message = `lock servers ${report.servers.join(', ')} do not count yet: ${report.reason}`;
      if (report.lost) logger.error({ servers: report.servers }, message);
      else logger.info({ servers: report.servers }, message);
      break;
    }
  }
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
