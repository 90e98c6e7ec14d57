import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
// A bad or missing environment variable makes a service exit 2 with one line
// naming it, before it listens.
import { failpointsOf } from '@bulwark/failpoints';
import { killAllProcesses, startService, type ServiceApp } from '@bulwark/testing';

const coordinators = '127.0.0.1:1';
const scratch = mkdtempSync(join(tmpdir(), 'bulwark-bad-config-'));
// A regular file where a directory is expected: as root, permissions cannot make a path unwritable.
const notADirectory = join(scratch, 'file');
writeFileSync(notADirectory, '');

const cases: Array<[ServiceApp, NodeJS.ProcessEnv, string]> = [
  [
    'router',
    { BULWARK_MEMBER_ID: 'router-1', BULWARK_COORDINATORS: coordinators, BULWARK_LISTEN_ADDR: 'nope' },
    'BULWARK_LISTEN_ADDR: must be host:port, got "nope"',
  ],
  ['router', { BULWARK_COORDINATORS: coordinators }, 'BULWARK_MEMBER_ID: is required but not set'],
  [
    'router',
    { BULWARK_MEMBER_ID: 'router-1', BULWARK_COORDINATORS: coordinators, BULWARK_METRICS_ADDR: '9464' },
    'BULWARK_METRICS_ADDR: must be host:port or off, got "9464"',
  ],
  [
    'replica',
    {
      BULWARK_MEMBER_ID: 'replica-a1',
      BULWARK_GROUP_ID: 'group-a',
      BULWARK_COORDINATORS: coordinators,
      BULWARK_DATA_DIR: '/tmp',
      BULWARK_METRICS_ADDR: '0.0.0.0:70000',
    },
    'BULWARK_METRICS_ADDR: port must be between 0 and 65535, got 70000',
  ],
  [
    'router',
    { BULWARK_MEMBER_ID: 'router-1', BULWARK_COORDINATORS: coordinators, BULWARK_READ_BALANCER: 'fastest' },
    'BULWARK_READ_BALANCER: must be one of power-of-two-choices, round-robin, random, smooth-weighted, got "fastest"',
  ],
  [
    'router',
    { BULWARK_MEMBER_ID: 'router-1', BULWARK_COORDINATORS: coordinators, BULWARK_REQUEST_TIMEOUT_MS: '0' },
    'BULWARK_REQUEST_TIMEOUT_MS: must be between 1 and 300000, got 0',
  ],
  [
    'lock',
    { BULWARK_MEMBER_ID: 'lock-1', BULWARK_COORDINATORS: '127.0.0.1:99999' },
    'BULWARK_COORDINATORS: port must be between 1 and 65535, got 99999',
  ],
  [
    'lock',
    { BULWARK_MEMBER_ID: 'lock-1', BULWARK_COORDINATORS: coordinators, BULWARK_LOCK_BACKEND: 'etcd' },
    'BULWARK_LOCK_BACKEND: must be one of auto, redis, memory, got "etcd"',
  ],
  [
    'lock',
    { BULWARK_MEMBER_ID: 'lock-1', BULWARK_COORDINATORS: coordinators, BULWARK_LOCK_BACKEND: 'redis' },
    'BULWARK_REDIS_SERVERS: is required with BULWARK_LOCK_BACKEND=redis',
  ],
  [
    'lock',
    { BULWARK_MEMBER_ID: 'lock-1', BULWARK_COORDINATORS: coordinators, BULWARK_REDIS_SERVERS: 'redis-1:6379,redis-2' },
    'BULWARK_REDIS_SERVERS: must be host:port, got "redis-2"',
  ],
  [
    'lock',
    { BULWARK_MEMBER_ID: 'lock-1', BULWARK_COORDINATORS: coordinators, BULWARK_REDIS_TIMEOUT_MS: '5' },
    'BULWARK_REDIS_TIMEOUT_MS: must be between 10 and 10000, got 5',
  ],
  [
    'lock',
    {
      BULWARK_MEMBER_ID: 'lock-1',
      BULWARK_COORDINATORS: coordinators,
      BULWARK_REDIS_TIMEOUT_MS: '1000',
      BULWARK_LOCK_WAITER_LEASE_MS: '3000',
    },
    'BULWARK_LOCK_WAITER_LEASE_MS: must be at least 6 times BULWARK_REDIS_TIMEOUT_MS (6000), got 3000',
  ],
  [
    'monitor',
    { BULWARK_MEMBER_ID: 'Monitor_1', BULWARK_COORDINATORS: coordinators },
    'BULWARK_MEMBER_ID: must be 1-64 characters of a-z, 0-9 and -, got "Monitor_1"',
  ],
  [
    'replica',
    { BULWARK_MEMBER_ID: 'replica-a1', BULWARK_COORDINATORS: coordinators, BULWARK_DATA_DIR: '/tmp' },
    'BULWARK_GROUP_ID: is required but not set',
  ],
  [
    'replica',
    {
      BULWARK_MEMBER_ID: 'r',
      BULWARK_GROUP_ID: 'g',
      BULWARK_COORDINATORS: coordinators,
      BULWARK_DATA_DIR: `${notADirectory}/data`,
    },
    `BULWARK_DATA_DIR: cannot create or write directory ${notADirectory}/data (ENOTDIR)`,
  ],
  [
    'coordinator',
    { BULWARK_MEMBER_ID: 'c4', BULWARK_PEERS: 'c1=a:1,c2=b:1,c3=c:1', BULWARK_DATA_DIR: '/tmp' },
    'BULWARK_PEERS: must include this member (BULWARK_MEMBER_ID=c4)',
  ],
  [
    'coordinator',
    { BULWARK_MEMBER_ID: 'c1', BULWARK_PEERS: 'c1=a:1,c2=b:1,c3=c:1,c4=d:1', BULWARK_DATA_DIR: '/tmp' },
    'BULWARK_PEERS: must list 3 or 5 peers, got 4',
  ],
  [
    'coordinator',
    {
      BULWARK_MEMBER_ID: 'c1',
      BULWARK_PEERS: 'c1=a:1,c2=b:1,c3=c:1',
      BULWARK_DATA_DIR: '/tmp',
      BULWARK_DRAIN_DEADLINE_MS: '1e3',
    },
    'BULWARK_DRAIN_DEADLINE_MS: must be an integer, got "1e3"',
  ],
  [
    'replica',
    {
      BULWARK_MEMBER_ID: 'replica-a1',
      BULWARK_GROUP_ID: 'group-a',
      BULWARK_COORDINATORS: coordinators,
      BULWARK_DATA_DIR: '/tmp',
      BULWARK_FAILPOINTS: 'replica.wal.beforeFsync=crash-lose-unsynced;replica.ready.beforeSend=explode',
    },
    'BULWARK_FAILPOINTS: replica.ready.beforeSend: must be off, on, crash, crash-lose-unsynced, error(EIO), error(ENOSPC) or sleep(ms), got "explode"',
  ],
  [
    'coordinator',
    {
      BULWARK_MEMBER_ID: 'c1',
      BULWARK_PEERS: 'c1=a:1,c2=b:1,c3=c:1',
      BULWARK_DATA_DIR: '/tmp',
      BULWARK_FAILPOINTS: 'replica.wal.beforeFsync=crash',
    },
    `BULWARK_FAILPOINTS: replica.wal.beforeFsync: is not a failpoint of the coordinator; its failpoints are ${failpointsOf('coordinator').join(', ')}`,
  ],
  [
    'router',
    { BULWARK_MEMBER_ID: 'router-1', BULWARK_COORDINATORS: coordinators, BULWARK_FAILPOINTS_ADDR: 'nope' },
    'BULWARK_FAILPOINTS_ADDR: must be host:port, got "nope"',
  ],
];

describe('bad configuration', () => {
  afterAll(async () => {
    await killAllProcesses();
    rmSync(scratch, { recursive: true, force: true });
  });

  it.each(cases)('%s exits 2 naming the variable (%j)', async (app, env, expected) => {
    const service = startService(app, env);
    const exit = await service.waitForExit(30_000);
    expect(exit.code).toBe(2);
    expect(service.stderr).toEqual([`${app}: invalid configuration: ${expected}`]);
    expect(service.stdout).toEqual([]);
  });
});
