// A replica group of 3 real replica processes and 3 coordinators, run by the
// launcher: the group is created and put on the ring by itself; writes go
// to the primary, which answers once every in-sync member has them; a
// backup refuses writes naming the primary; bad input gets a status naming
// the field; the primary reports its backups' lag.
import { Metadata } from '@grpc/grpc-js';
import { kvV1, replicationV1, shardV1 } from '@bulwark/contracts';
import { NotLeaderError, type BulwarkError } from '@bulwark/errors';
import { rejection } from '@bulwark/errors/testing';
import { callUnary, createClient, fromServiceError } from '@bulwark/rpc';
import {
  eventually,
  launchReplicaGroup,
  putRequest,
  replicaNames,
  signal,
  type ReplicaGroupFleet,
  type ReplicaName,
} from './support/replica-group';

const Consistency = { STRONG: kvV1.Consistency.CONSISTENCY_STRONG, EVENTUAL: kvV1.Consistency.CONSISTENCY_EVENTUAL };

describe('a replica group of real processes', () => {
  let fleet: ReplicaGroupFleet;

  beforeAll(async () => {
    fleet = await launchReplicaGroup('127.77.61');
  }, 90_000);

  afterAll(async () => fleet?.stop());

  it('creates its group, elects the first member primary and serves writes and STRONG reads there', async () => {
    const group = await fleet.group();
    expect(group.members).toEqual([...replicaNames]);
    expect(group.primary).toBe('replica-1');
    const primary = fleet.shards.get('replica-1') as shardV1.ShardClient;
    const put = await eventually('a first write', 20_000, () =>
      callUnary(primary, primary.put, putRequest('hello', 'world'), { deadlineMs: 2_000 }),
    );
    expect(put.response?.succeeded).toBe(true);
    expect(put.response?.version).toBe(1n);
    const get = await callUnary(
      primary,
      primary.get,
      { groupId: 'group-a', request: { key: 'hello', consistency: Consistency.STRONG, maxStalenessMs: 0 } },
      { deadlineMs: 2_000 },
    );
    expect(Buffer.from(get.response?.kv?.value ?? []).toString()).toBe('world');
    expect(get.response?.header?.memberId).toBe('replica-1');
  }, 60_000);

  it('has a backup refuse writes naming the primary, and serve the value to EVENTUAL reads', async () => {
    const backup = fleet.shards.get('replica-2') as shardV1.ShardClient;
    await expect(callUnary(backup, backup.put, putRequest('k', 'v'), { deadlineMs: 2_000 })).rejects.toMatchObject({
      constructor: NotLeaderError,
      details: { leaderId: 'replica-1' },
    });
    const value = await eventually('the backup to apply the write', 10_000, async () => {
      const get = await callUnary(
        backup,
        backup.get,
        { groupId: 'group-a', request: { key: 'hello', consistency: Consistency.EVENTUAL, maxStalenessMs: 0 } },
        { deadlineMs: 2_000 },
      );
      return get.response?.found ? Buffer.from(get.response.kv?.value ?? []).toString() : undefined;
    });
    expect(value).toBe('world');
  }, 30_000);

  it('answers bad input of every kind with a status naming the field', async () => {
    const primary = fleet.shards.get('replica-1') as shardV1.ShardClient;
    const settings = { deadlineMs: 5_000 };
    const put = (request: Partial<kvV1.PutRequest>, groupId = 'group-a') =>
      callUnary(
        primary,
        primary.put,
        { groupId, request: { ...putRequest('ok', 'v').request, ...request } as kvV1.PutRequest },
        settings,
      );
    const txn = (request: Partial<kvV1.TxnRequest>) =>
      callUnary(
        primary,
        primary.txn,
        {
          groupId: 'group-a',
          request: {
            compares: [],
            success: [],
            failure: [],
            durability: 0,
            fence: undefined,
            requestId: '',
            ...request,
          },
        },
        settings,
      );
    const putOp = (key: string): kvV1.TxnOp => ({
      op: { $case: 'put', put: { key, value: Buffer.from('v'), durability: 0, fence: undefined, requestId: '' } },
    });
    const fenced = (token: bigint) => put({ key: 'fenced', fence: { lockName: 'lock-a', token } });
    expect((await fenced(5n)).response?.succeeded).toBe(true);
    const cases: Array<[string, () => Promise<unknown>, string, string]> = [
      ['empty key', () => put({ key: '' }), 'invalid-argument', 'request.key'],
      ['oversized key', () => put({ key: 'k'.repeat(1_025) }), 'invalid-argument', 'request.key'],
      ['oversized value', () => put({ value: Buffer.alloc(1024 * 1024 + 1) }), 'invalid-argument', 'request.value'],
      ['unknown durability', () => put({ durability: 7 as kvV1.Durability }), 'invalid-argument', 'request.durability'],
      ['oversized request id', () => put({ requestId: 'r'.repeat(129) }), 'invalid-argument', 'request.request_id'],
      ['no group', () => put({}, ''), 'invalid-argument', 'group_id'],
      ['another group', () => put({}, 'group-z'), 'failed-precondition', 'group_id'],
      [
        'missing request',
        () => callUnary(primary, primary.put, { groupId: 'group-a', request: undefined }, settings),
        'invalid-argument',
        'request',
      ],
      ['stale fencing token', () => fenced(3n), 'failed-precondition', 'request.fence.token'],
      [
        'empty lock name',
        () => put({ fence: { lockName: '', token: 1n } }),
        'invalid-argument',
        'request.fence.lock_name',
      ],
      [
        'same key twice in a txn',
        () => txn({ success: [putOp('t'), putOp('t')] }),
        'invalid-argument',
        'request.success[1].put.key',
      ],
      [
        'compare without operator',
        () =>
          txn({
            compares: [
              {
                key: 't',
                target: kvV1.CompareTarget.COMPARE_TARGET_VERSION,
                operator: 0,
                version: 0n,
                value: Buffer.alloc(0),
              },
            ],
          }),
        'invalid-argument',
        'request.compares[0].operator',
      ],
      [
        'BOUNDED read without a bound',
        () =>
          callUnary(
            primary,
            primary.get,
            {
              groupId: 'group-a',
              request: { key: 'k', consistency: kvV1.Consistency.CONSISTENCY_BOUNDED, maxStalenessMs: 0 },
            },
            settings,
          ),
        'invalid-argument',
        'request.max_staleness_ms',
      ],
      [
        'scan page over 1000',
        () =>
          callUnary(
            primary,
            primary.scan,
            {
              groupId: 'group-a',
              prefix: '',
              startKey: '',
              endKey: '',
              limit: 5_000,
              consistency: 0,
              maxStalenessMs: 0,
            },
            settings,
          ),
        'invalid-argument',
        'limit',
      ],
    ];
    const answers: string[] = [];
    for (const [name, send, kind, field] of cases) {
      const error = await rejection(send());
      answers.push(`${name}: ${error.kind} ${error.details.field}`);
      expect(`${name}: ${error.kind} ${error.details.field}`).toBe(`${name}: ${kind} ${field}`);
    }
    expect(answers).toHaveLength(cases.length);

    // A malformed Operate batch ends the stream with the status, naming the field.
    const stream = primary.operate(new Metadata());
    const ended = new Promise<BulwarkError>((resolve) =>
      stream.on('error', (error) => resolve(fromServiceError(error as never))),
    );
    const get: shardV1.GetRequest = { groupId: 'group-a', request: { key: 'k', consistency: 0, maxStalenessMs: 0 } };
    stream.write({
      operations: [
        { id: 1n, timeoutMs: 0, request: { $case: 'get', get }, traceContext: undefined },
        { id: 1n, timeoutMs: 0, request: { $case: 'get', get }, traceContext: undefined },
      ],
    });
    const streamError = await ended;
    expect([streamError.kind, streamError.details.field]).toEqual(['invalid-argument', 'operations[1].id']);
  }, 60_000);

  it('answers one Operate batch of large values in messages of at most 4 MiB, which a 5 MiB client receives', async () => {
    const group = await fleet.group();
    const address = fleet.launched.address(group.primary as string, 7100);
    const writer = fleet.shards.get(group.primary as ReplicaName) as shardV1.ShardClient;
    const value = 'v'.repeat(1024 * 1024);
    const keys = Array.from({ length: 6 }, (_, index) => `large-${index}`);
    for (const key of keys) await callUnary(writer, writer.put, putRequest(key, value), { deadlineMs: 10_000 });
    // Six 1 MiB values in one turn's answer: one message would be over this client's limit and fail the stream.
    const reader = createClient(shardV1.ShardClient, address, { 'grpc.max_receive_message_length': 5 * 1024 * 1024 });
    const stream = reader.operate(new Metadata());
    const received: shardV1.OperationResult[] = [];
    let messages = 0;
    const done = new Promise<void>((resolve, reject) => {
      stream.on('data', (response: shardV1.OperateResponse) => {
        messages++;
        received.push(...response.results);
        if (received.length === keys.length) resolve();
      });
      stream.on('error', reject);
    });
    stream.write({
      operations: keys.map((key, index) => ({
        id: BigInt(index + 1),
        timeoutMs: 10_000,
        request: {
          $case: 'get' as const,
          get: { groupId: 'group-a', request: { key, consistency: Consistency.STRONG, maxStalenessMs: 0 } },
        },
        traceContext: undefined,
      })),
    });
    try {
      await done;
    } finally {
      stream.cancel();
      reader.close();
    }
    expect(messages).toBeGreaterThanOrEqual(2);
    for (const result of received) {
      expect(result.result?.$case === 'get' && result.result.get.response?.kv?.value.length).toBe(value.length);
    }
  });

  it("reports each backup's lag at the primary (GetStatus)", async () => {
    const group = await fleet.group();
    const status = async (name: ReplicaName) => {
      const client = createClient(replicationV1.ReplicationClient, fleet.launched.address(name, 7100));
      try {
        return await callUnary(
          client,
          client.getStatus,
          { groupId: 'group-a', includeStateDigest: false },
          { deadlineMs: 2_000 },
        );
      } finally {
        client.close();
      }
    };
    const primary = await status(group.primary as ReplicaName);
    expect(primary.role).toBe('primary');
    expect(primary.backups.map((backup) => backup.memberId).sort()).toEqual(
      group.members.filter((member) => member !== group.primary).sort(),
    );
    expect(primary.stalenessMs).toBe(0n);
    const silent = group.members.find((member) => member !== group.primary) as ReplicaName;
    const backup = await status(silent);
    expect(backup.role).toBe('backup');
    expect(backup.primaryId).toBe(group.primary);
    expect(backup.backups).toEqual([]);

    // A paused backup falls behind: the primary reports it, drops it from the in-sync set, and
    // reports it caught up once it resumes.
    const shard = fleet.shards.get(group.primary as ReplicaName) as shardV1.ShardClient;
    signal(fleet, silent, 'SIGSTOP');
    let lagging: replicationV1.BackupProgress | undefined;
    try {
      await callUnary(shard, shard.put, putRequest('lag', 'behind'), { deadlineMs: 10_000 });
      lagging = (await status(group.primary as ReplicaName)).backups.find((progress) => progress.memberId === silent);
    } finally {
      signal(fleet, silent, 'SIGCONT');
    }
    expect(lagging?.lagEntries).toBeGreaterThan(0n);
    expect(lagging?.lagMs).toBeGreaterThan(0n);
    expect(lagging?.inSync).toBe(false);
    const caughtUp = await eventually('the backup to catch up', 20_000, async () => {
      const progress = (await status(group.primary as ReplicaName)).backups.find((entry) => entry.memberId === silent);
      return progress?.lagEntries === 0n && progress.inSync ? progress : undefined;
    });
    expect(caughtUp.lagMs).toBe(0n);
  }, 30_000);
});
