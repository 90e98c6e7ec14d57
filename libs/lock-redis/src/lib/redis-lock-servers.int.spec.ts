// RedisLockServers over real redis-servers that lose their data: a server
// without its mark never counts, so a token is never granted twice, and it
// is restored from a majority before it counts again.
import { UnavailableError } from '@bulwark/errors';
import { LockQuorum, type AcquireAttempt } from '@bulwark/lock-core';
import {
  closeRedisClients,
  connectRedisClient,
  killAllProcesses,
  occurrence,
  startRedisServer,
  type RedisServer,
} from '@bulwark/testing';
import { fenceKey, serverMarkKey, serverSuspectKey } from './lock-keys';
import { RedisLockServer } from './redis-lock-server';
import { RedisLockServers, type ServerMarkReport } from './redis-lock-servers';

const timeoutMs = 2_000;
const ttlMs = 60_000;

const groups: RedisLockServers[] = [];
const lockServers: RedisLockServer[] = [];
const redisServers: RedisServer[] = [];
let quorumCount = 0;

interface Fleet {
  readonly redis: RedisServer[];
  readonly group: RedisLockServers;
  readonly reports: ServerMarkReport[];
  /** Resolves with the first report from now on that matches. */
  reported(matches: (report: ServerMarkReport) => boolean): Promise<ServerMarkReport>;
  /** A LockQuorum of its own over the group's servers, as another lock-service instance would have (no fences known). */
  instance(): LockQuorum;
}

async function startFleet(options: { everysec?: number[] } = {}): Promise<Fleet> {
  const redis = await Promise.all(
    [0, 1, 2].map((index) =>
      startRedisServer({ appendfsync: options.everysec?.includes(index) ? 'everysec' : 'always' }),
    ),
  );
  redisServers.push(...redis);
  const fleet = groupOver(redis);
  await allMarked(fleet.group);
  return fleet;
}

/** A RedisLockServers over redis, as one lock-service instance keeps them, with its reports. */
function groupOver(redis: RedisServer[]): Fleet {
  const reports: ServerMarkReport[] = [];
  const watchers = new Set<(report: ServerMarkReport) => void>();
  const group = new RedisLockServers({
    servers: redis.map(({ port }, index) => ({ host: '127.0.0.1', port, id: `redis-${index + 1}` })),
    callTimeoutMs: timeoutMs,
    onReport: (report) => {
      reports.push(report);
      for (const watcher of [...watchers]) watcher(report);
    },
  });
  groups.push(group);
  return {
    redis,
    group,
    reports,
    reported: (matches) => {
      const seen = occurrence<ServerMarkReport>();
      const watcher = (report: ServerMarkReport) => {
        if (!matches(report)) return;
        watchers.delete(watcher);
        seen.signal(report);
      };
      watchers.add(watcher);
      return seen.happened;
    },
    instance: () => {
      quorumCount += 1;
      return new LockQuorum({
        servers: group.servers,
        nowMs: () => performance.now(),
        callTimeoutMs: timeoutMs,
        attemptPrefix: `instance-${quorumCount}`,
      });
    },
  };
}

/** Resolves once every server of group is connected with its mark. */
async function allMarked(group: RedisLockServers): Promise<void> {
  const marked = occurrence();
  const check = () => {
    if (group.servers.every((server) => server.checkedMark?.marked)) marked.signal();
  };
  const stops = group.servers.map((server) => server.onMarkChange(check));
  check();
  await marked.happened;
  for (const stop of stops) stop();
}

/** A new redis-server and a RedisLockServer on it with no RedisLockServers around it (nobody marks or restores it), connected. */
async function loneServer(): Promise<{ redis: RedisServer; server: RedisLockServer }> {
  const redis = await startRedisServer();
  redisServers.push(redis);
  const server = new RedisLockServer({ host: '127.0.0.1', port: redis.port });
  lockServers.push(server);
  await server.waitUntilConnected(timeoutMs);
  return { redis, server };
}

function tokenOf(attempt: AcquireAttempt): bigint {
  if (!attempt.acquired) throw new Error('not acquired');
  return attempt.grant.token;
}

async function rawGet(server: RedisServer, key: string): Promise<string | null> {
  return connectRedisClient(server).get(key);
}

afterAll(async () => {
  await Promise.all(groups.map((group) => group.close()));
  await Promise.all(lockServers.map((server) => server.close()));
  await closeRedisClients();
  await Promise.all(redisServers.map((server) => server.remove()));
  await killAllProcesses();
});

describe('a new cluster', () => {
  it('marks every server once a majority answers', async () => {
    const fleet = await startFleet();
    expect(await fleet.group.waitUntilCounted(timeoutMs)).toBe(true);
    for (const server of fleet.redis) expect(await rawGet(server, serverMarkKey)).toMatch(/^[0-9a-f]{40}$/);
    expect(fleet.reports.filter((report) => report.kind === 'new-cluster')).not.toHaveLength(0);
    expect(fleet.group.servers.every((server) => server.checkedMark?.marked)).toBe(true);
  });
});

describe('a server that lost its data', () => {
  it('never counts until restored from a majority, so no token is granted twice', async () => {
    const fleet = await startFleet();
    const [s1, s2, s3] = fleet.redis as [RedisServer, RedisServer, RedisServer];
    // The grant reaches s1 and s2 only.
    await s3.kill();
    const before = fleet.instance();
    const token = tokenOf(await before.tryAcquire('ledger', 'alice', ttlMs));
    await before.release('ledger', 'alice', token);
    // s1 comes back empty and s3 (stale) returns while s2 is away: s1 and s3 alone would grant the same token again.
    await s1.loseData();
    await s2.kill();
    const waiting = fleet.reported(
      (report) =>
        report.kind === 'waiting' && report.servers.includes('redis-1') && report.reason.includes('only 1 of 3'),
    );
    await s1.restart();
    await s3.restart();
    expect(await waiting).toMatchObject({ lost: false });

    const after = fleet.instance();
    await expect(after.tryAcquire('ledger', 'bob', ttlMs)).rejects.toBeInstanceOf(UnavailableError);
    expect(await rawGet(s1, fenceKey('ledger'))).toBeNull();

    // s2 returns: s1 is restored from s2 and s3 and counts again.
    const restored = fleet.reported((report) => report.kind === 'restored' && report.server === 'redis-1');
    await s2.restart();
    expect(await restored).toMatchObject({ sources: ['redis-2', 'redis-3'] });
    expect(await rawGet(s1, fenceKey('ledger'))).toBe(String(token));
    await s2.kill();
    expect(tokenOf(await after.tryAcquire('ledger', 'bob', ttlMs))).toBeGreaterThan(token);
  });

  it('gets the holders back with their lease, so a lock held before the loss is not granted again', async () => {
    const fleet = await startFleet();
    const [s1, s2, s3] = fleet.redis as [RedisServer, RedisServer, RedisServer];
    await s3.kill();
    tokenOf(await fleet.instance().tryAcquire('printer', 'alice', ttlMs));
    const restored = fleet.reported((report) => report.kind === 'restored' && report.server === 'redis-1');
    await s1.loseData();
    await s1.restart();
    await s3.restart();
    await restored;
    // s1 and s3 alone: s3 never had the holder, s1 has it again.
    await s2.kill();
    expect(await fleet.instance().tryAcquire('printer', 'bob', ttlMs)).toMatchObject({
      acquired: false,
      holder: { owner: 'alice' },
    });
    await s2.restart();
  });

  it('is taken out at once when its data goes under a live connection (FLUSHALL), then restored', async () => {
    const fleet = await startFleet();
    const [s1] = fleet.redis as [RedisServer];
    const server = fleet.group.servers[0];
    const token = tokenOf(await fleet.instance().tryAcquire('flushed', 'alice', ttlMs));
    const restored = fleet.reported((report) => report.kind === 'restored' && report.server === 'redis-1');
    await connectRedisClient(s1).flushall();
    await expect(server?.inspect('flushed', timeoutMs)).rejects.toThrow(/has no mark/);
    await restored;
    expect(await server?.inspect('flushed', timeoutMs)).toMatchObject({ fence: token, holder: { owner: 'alice' } });
  });

  it('leaves the servers out, never starting afresh, when a majority lost its data', async () => {
    const fleet = await startFleet();
    const [s1, s2, s3] = fleet.redis as [RedisServer, RedisServer, RedisServer];
    tokenOf(await fleet.instance().tryAcquire('gone', 'alice', ttlMs));
    const lost = fleet.reported((report) => report.kind === 'waiting' && report.lost);
    for (const server of [s1, s2, s3]) await server.loseData();
    for (const server of [s1, s2, s3]) await server.restart();
    await lost;
    for (const server of fleet.group.servers) await server.waitUntilConnected(timeoutMs);
    await expect(fleet.instance().tryAcquire('gone', 'bob', ttlMs)).rejects.toBeInstanceOf(UnavailableError);
    for (const server of [s1, s2, s3]) expect(await rawGet(server, serverMarkKey)).toBeNull();
  });
});

describe('a new cluster, as another instance sees it', () => {
  it('is not started while a marked server is away, though the others answer without their data', async () => {
    const fleet = await startFleet();
    const [s1, s2, s3] = fleet.redis as [RedisServer, RedisServer, RedisServer];
    tokenOf(await fleet.instance().tryAcquire('census', 'alice', ttlMs));
    await s3.kill();
    for (const server of [s1, s2]) await server.loseData();
    for (const server of [s1, s2]) await server.restart();
    // A lock-service instance started now never saw them marked.
    const newcomer = groupOver(fleet.redis);
    const waiting = newcomer.reported((report) => report.kind === 'waiting' && report.servers.length === 2);
    expect(await waiting).toMatchObject({ servers: ['redis-1', 'redis-2'], lost: false });
    expect(newcomer.reports.filter((report) => report.kind === 'new-cluster')).toEqual([]);
    await expect(newcomer.instance().tryAcquire('census', 'bob', ttlMs)).rejects.toBeInstanceOf(UnavailableError);
    for (const server of [s1, s2]) expect(await rawGet(server, serverMarkKey)).toBeNull();
  });
});

describe('a restore, step by step', () => {
  it('marks nothing once its target was emptied under it, and one restore runs at a time', async () => {
    // A lone server, with nobody to restore it but this test.
    const { redis, server: target } = await loneServer();
    expect(target.checkedMark).toMatchObject({ marked: false });
    const connection = target.connectionNumber;
    const begun = await target.beginRestore(connection, timeoutMs);
    if (typeof begun === 'string') throw new Error(`not begun: ${begun}`);
    expect(await target.beginRestore(connection, timeoutMs)).toBe('busy');
    const fence = (name: string) => ({ key: fenceKey(name), kind: 'counter' as const, value: '7' });
    expect(await target.restore([fence('a')], begun.nonce, connection, timeoutMs)).toBe('written');
    await connectRedisClient(redis).flushall();
    await expect(target.restore([fence('b')], begun.nonce, connection, timeoutMs)).rejects.toThrow(/restore was lost/);
    await expect(target.markRestored(begun.nonce, connection, timeoutMs)).rejects.toThrow(/restore was lost/);
    expect(await rawGet(redis, serverMarkKey)).toBeNull();
    expect(await rawGet(redis, fenceKey('b'))).toBeNull();
  });

  it('reads a source only on the connection it checked', async () => {
    const { redis, server: source } = await loneServer();
    const connection = source.connectionNumber;
    await redis.kill();
    await redis.restart();
    await source.waitUntilConnected(timeoutMs);
    await expect(source.scanLockKeys('0', connection, timeoutMs)).rejects.toThrow(/reconnected since/);
    await expect(source.markValue(connection, timeoutMs)).rejects.toThrow(/reconnected since/);
  });

  it('goes on, rather than rescan forever, when a source turns out to have lost its mark', async () => {
    const fleet = await startFleet();
    const [s1, s2] = fleet.redis as [RedisServer, RedisServer];
    tokenOf(await fleet.instance().tryAcquire('quiet', 'alice', ttlMs));
    // s2 is emptied with no lock traffic to notice; then s1 loses its data.
    await connectRedisClient(s2).flushall();
    const lost = fleet.reported((report) => report.kind === 'waiting' && report.lost);
    await s1.loseData();
    await s1.restart();
    expect(await lost).toMatchObject({ servers: ['redis-1', 'redis-2'] });
    expect(fleet.reports.filter((report) => report.kind === 'restoring').length).toBeLessThanOrEqual(1);
  });
});

describe('a server without appendfsync always', () => {
  it('loses its mark when it restarts (it may have forgotten its last writes) and is restored before it counts', async () => {
    const fleet = await startFleet({ everysec: [0] });
    const [s1] = fleet.redis as [RedisServer];
    const token = tokenOf(await fleet.instance().tryAcquire('journal', 'alice', ttlMs));
    const markBefore = await rawGet(s1, serverMarkKey);
    const restoring = fleet.reported((report) => report.kind === 'restoring' && report.server === 'redis-1');
    const restored = fleet.reported((report) => report.kind === 'restored' && report.server === 'redis-1');
    await s1.kill();
    await s1.restart();
    await restoring;
    await restored;
    const markAfter = await rawGet(s1, serverMarkKey);
    expect(markAfter).toMatch(/^[0-9a-f]{40}$/);
    expect(markAfter).not.toBe(markBefore);
    expect(await rawGet(s1, serverSuspectKey)).toBeNull();
    expect(await rawGet(s1, fenceKey('journal'))).toBe(String(token));
  });

  it('counts again with a mark set by hand after a majority restarted, and takes that mark as its own', async () => {
    const fleet = await startFleet({ everysec: [0, 1, 2] });
    const lost = fleet.reported((report) => report.kind === 'waiting' && report.lost);
    for (const server of fleet.redis) await server.kill();
    for (const server of fleet.redis) await server.restart();
    await lost;
    for (const server of fleet.redis) await connectRedisClient(server).set(serverMarkKey, 'manual');
    await allMarked(fleet.group);
    for (const server of fleet.redis) expect(await rawGet(server, serverMarkKey)).toMatch(/^[0-9a-f]{40}$/);
    tokenOf(await fleet.instance().tryAcquire('after-override', 'alice', ttlMs));
  });

  it('keeps its mark across a restart with appendfsync always', async () => {
    const fleet = await startFleet();
    const [s1] = fleet.redis as [RedisServer];
    const markBefore = await rawGet(s1, serverMarkKey);
    const reportsBefore = fleet.reports.length;
    await s1.kill();
    await s1.restart();
    await fleet.group.servers[0]?.waitUntilConnected(timeoutMs);
    expect(fleet.group.servers[0]?.checkedMark).toMatchObject({ marked: true, suspect: false });
    expect(await rawGet(s1, serverMarkKey)).toBe(markBefore);
    expect(fleet.reports.slice(reportsBefore)).toEqual([]);
  });
});
