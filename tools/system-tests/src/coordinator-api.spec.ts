// coordinator.v1 on a real 3-member cluster: group and ring administration,
// manual failover under the primary-lease rule, watches, linearizable reads
// only at the leader, and bad input answered with the status naming the field.
import { Metadata } from '@grpc/grpc-js';
import { coordinatorV1 } from '@bulwark/contracts';
import {
  AlreadyExistsError,
  BulwarkError,
  FailedPreconditionError,
  InvalidArgumentError,
  NotFoundError,
  NotLeaderError,
} from '@bulwark/errors';
import { callUnary, createClient, type UnaryMethod } from '@bulwark/rpc';
import { registerMember } from '@bulwark/coordinator-client';
import { launchComposeFleet, type ComposeFleet } from '@bulwark/fleet';
import { createLogger } from '@bulwark/logging';
import { repoPath, repoRoot } from '@bulwark/testing';

const { MemberRole, ReplicationMode } = coordinatorV1;

describe('coordinator.v1 on a 3-member cluster', () => {
  let cluster: ComposeFleet;
  const clients = new Map<string, coordinatorV1.CoordinatorClient>();
  let leader: coordinatorV1.CoordinatorClient;
  let follower: coordinatorV1.CoordinatorClient;

  beforeAll(async () => {
    cluster = await launchComposeFleet(repoPath('tools/system-tests/fixtures/coordinators-3.compose.yml'), {
      subnet: '127.77.44',
      projectDir: repoRoot,
    });
    for (const service of cluster.fleet.services()) {
      clients.set(service.name, createClient(coordinatorV1.CoordinatorClient, cluster.address(service.name, 7001)));
    }
    // Find the leader: the member whose GetTopology is answered under its lease.
    const deadline = Date.now() + 20_000;
    while (!leader && Date.now() < deadline) {
      for (const [name, client] of clients) {
        const answer = await callUnary(client, client.getTopology, {}, { deadlineMs: 1_000 }).catch(() => undefined);
        if (answer) {
          leader = client;
          follower = [...clients].find(([other]) => other !== name)?.[1] as coordinatorV1.CoordinatorClient;
        }
      }
      if (!leader) await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(leader).toBeDefined();
  }, 90_000);

  afterAll(async () => {
    for (const client of clients.values()) client.close();
    await cluster?.stop();
  });

  const call = <Req, Res>(client: coordinatorV1.CoordinatorClient, method: UnaryMethod<Req, Res>, request: Req) =>
    callUnary(client, method, request, { deadlineMs: 5_000 });

  async function rejection(promise: Promise<unknown>): Promise<BulwarkError> {
    const error = await promise.then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(BulwarkError);
    return error as BulwarkError;
  }

  const replica = (id: string, port: number): coordinatorV1.Member => ({
    id,
    address: `127.0.0.1:${port}`,
    role: MemberRole.MEMBER_ROLE_REPLICA,
    groupId: 'group-a',
  });

  it('creates a group, puts it on the ring, fails it over once its lease is surely over, and a watcher sees it all', async () => {
    const watched: coordinatorV1.TopologyEvent[] = [];
    const watch = follower.watchTopology({ startRevision: 1n }, new Metadata());
    watch.on('data', (response: coordinatorV1.WatchTopologyResponse) => watched.push(...response.events));
    watch.on('error', () => undefined);

    for (const [id, port] of [
      ['replica-a1', 7101],
      ['replica-a2', 7102],
      ['replica-a3', 7103],
    ] as const) {
      await call(leader, leader.registerMember, { member: replica(id, port) });
    }
    const created = await call(leader, leader.createGroup, {
      groupId: 'group-a',
      members: ['replica-a1', 'replica-a2', 'replica-a3'],
      mode: ReplicationMode.REPLICATION_MODE_SYNC,
    });
    // A group's first epoch is the revision that created it.
    const firstEpoch = created.header?.revision ?? 0n;
    expect(created.group).toMatchObject({
      id: 'group-a',
      epoch: firstEpoch,
      primary: 'replica-a1',
      inSync: ['replica-a1', 'replica-a2', 'replica-a3'],
    });

    const ring = await call(leader, leader.setRing, {
      expectedVersion: 0n,
      virtualNodesPerWeight: 0,
      groups: [{ groupId: 'group-a', weight: 1 }],
    });
    expect(ring.ring).toMatchObject({ version: 1n, virtualNodesPerWeight: 4096 });

    // The new group's primary may still act until its lease plus the drift bound has passed.
    const early = await rejection(
      call(leader, leader.failover, { groupId: 'group-a', expectedEpoch: firstEpoch, targetPrimary: 'replica-a2' }),
    );
    expect(early).toBeInstanceOf(FailedPreconditionError);
    let failedOver: coordinatorV1.FailoverResponse | undefined;
    const deadline = Date.now() + 10_000;
    while (!failedOver && Date.now() < deadline) {
      failedOver = await call(leader, leader.failover, {
        groupId: 'group-a',
        expectedEpoch: firstEpoch,
        targetPrimary: 'replica-a2',
      }).catch((error: unknown) => {
        if (!(error instanceof FailedPreconditionError)) throw error;
        return undefined;
      });
      if (!failedOver) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(failedOver?.group).toMatchObject({ epoch: firstEpoch + 1n, primary: 'replica-a2' });

    const topology = await call(leader, leader.getTopology, {});
    const revision = topology.header?.revision ?? 0n;
    // The watcher (on a follower) has every change up to the leader's revision.
    const watchDeadline = Date.now() + 10_000;
    while ((watched.at(-1)?.revision ?? 0n) < revision && Date.now() < watchDeadline) {
      await new Promise((resolve) => watch.once('data', resolve));
    }
    watch.cancel();
    expect(watched.at(-1)?.revision).toBe(revision);
    expect(watched.map((event) => event.change?.$case)).toEqual(
      expect.arrayContaining(['memberRegistered', 'groupUpdated', 'ringUpdated']),
    );
  });

  it('registers a member through the coordinator client, which follows the leader hint from a follower', async () => {
    const followerName = [...clients].find(([, client]) => client === follower)?.[0] as string;
    const response = await registerMember({
      coordinators: [cluster.address(followerName, 7001)],
      member: { id: 'router-9', address: '127.0.0.1:7299', role: MemberRole.MEMBER_ROLE_ROUTER, groupId: '' },
      logger: createLogger({ service: 'test', memberId: 'test', level: 'fatal' }),
      callDeadlineMs: 2_000,
      totalDeadlineMs: 20_000,
    });
    const topology = await call(leader, leader.getTopology, {});
    expect(response.header?.revision).toBeGreaterThan(0n);
    expect(topology.topology?.members.map((member) => member.id)).toContain('router-9');
  });

  it('answers linearizable reads only at the leader, with a hint elsewhere', async () => {
    const error = await rejection(call(follower, follower.getTopology, {}));
    expect(error).toBeInstanceOf(NotLeaderError);
    expect(error.details.leaderId).toMatch(/^coordinator-[123]$/);
    expect(error.details.leaderAddress).toMatch(/:7001$/);
  });

  it('rejects bad input with the status naming the field', async () => {
    const epoch = (await call(leader, leader.getTopology, {})).topology?.groups.find(
      (group) => group.id === 'group-a',
    )?.epoch;
    expect(epoch).toBeDefined();
    const cases: Array<[Promise<unknown>, new (...args: never[]) => BulwarkError, string]> = [
      [call(leader, leader.registerMember, { member: undefined }), InvalidArgumentError, 'member'],
      [
        call(leader, leader.registerMember, {
          member: { ...replica('x', 7199), role: MemberRole.MEMBER_ROLE_UNSPECIFIED },
        }),
        InvalidArgumentError,
        'member.role',
      ],
      [call(leader, leader.registerMember, { member: replica('Bad_Id', 7198) }), InvalidArgumentError, 'member.id'],
      [call(leader, leader.registerMember, { member: replica('dup', 7101) }), AlreadyExistsError, 'member.address'],
      [
        call(leader, leader.failover, { groupId: 'nope', expectedEpoch: 0n, targetPrimary: '' }),
        NotFoundError,
        'group_id',
      ],
      [
        call(leader, leader.failover, { groupId: '', expectedEpoch: 0n, targetPrimary: '' }),
        InvalidArgumentError,
        'group_id',
      ],
      [
        call(leader, leader.failover, { groupId: 'group-a', expectedEpoch: 1n, targetPrimary: 'replica-a3' }),
        FailedPreconditionError,
        'expected_epoch',
      ],
      [
        call(leader, leader.setRing, {
          expectedVersion: 0n,
          virtualNodesPerWeight: 0,
          groups: [{ groupId: 'group-a', weight: 1 }],
        }),
        FailedPreconditionError,
        'expected_version',
      ],
      [
        call(leader, leader.setRing, {
          expectedVersion: 1n,
          virtualNodesPerWeight: 0,
          groups: [{ groupId: 'group-a', weight: 0 }],
        }),
        InvalidArgumentError,
        'groups[0].weight',
      ],
      [
        call(leader, leader.createGroup, {
          groupId: 'group-a',
          members: ['replica-a1'],
          mode: ReplicationMode.REPLICATION_MODE_SYNC,
        }),
        AlreadyExistsError,
        'group_id',
      ],
      [
        call(leader, leader.createGroup, { groupId: 'group-b', members: [], mode: 7 as never }),
        InvalidArgumentError,
        'mode',
      ],
      [
        call(leader, leader.renewPrimaryLease, { groupId: 'group-a', memberId: 'replica-a1', epoch: epoch as bigint }),
        FailedPreconditionError,
        'member_id',
      ],
      [
        call(leader, leader.updateInSyncSet, {
          groupId: 'group-a',
          epoch: 1n,
          primaryId: 'replica-a2',
          inSync: ['replica-a2'],
        }),
        FailedPreconditionError,
        'epoch',
      ],
      [call(leader, leader.deleteGroup, { groupId: 'group-a' }), FailedPreconditionError, 'group_id'],
    ];
    for (const [promise, type, field] of cases) {
      const error = await rejection(promise);
      expect([error.name, error.details.field, error.message]).toEqual([type.name, field, expect.any(String)]);
    }
  });
});
