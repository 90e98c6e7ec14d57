// coordinator.v1 on a real 3-member cluster: group and ring administration,
// manual failover under the primary-lease rule, retries made idempotent by a
// request_id, watches, linearizable reads only at the leader, members leaving
// (a router that stops deregisters itself), and bad input answered with the
// status naming the field.
import { performance } from 'node:perf_hooks';
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
import { freePort, killAllProcesses, repoPath, repoRoot, startService } from '@bulwark/testing';
import { rejection } from '@bulwark/errors/testing';
import { serveFakeReplicas, type FakeReplicas } from '@bulwark/coordinator-server/testing';
import { leaseHolder } from './support/lease-holder';

const { MemberRole, ReplicationMode } = coordinatorV1;

describe('coordinator.v1 on a 3-member cluster', () => {
  let cluster: ComposeFleet;
  const clients = new Map<string, coordinatorV1.CoordinatorClient>();
  let leader: coordinatorV1.CoordinatorClient;
  let follower: coordinatorV1.CoordinatorClient;
  /** The groups' members as failovers see them: real gRPC servers answering GetDurableState as told. */
  let fakes: FakeReplicas;

  beforeAll(async () => {
    fakes = await serveFakeReplicas([
      'replica-a1',
      'replica-a2',
      'replica-a3',
      'replica-b1',
      'replica-b2',
      'replica-b3',
    ]);
    cluster = await launchComposeFleet(repoPath('tools/system-tests/fixtures/coordinators-3.compose.yml'), {
      subnet: '127.77.44',
      projectDir: repoRoot,
    });
    for (const service of cluster.fleet.services()) {
      clients.set(service.name, createClient(coordinatorV1.CoordinatorClient, cluster.address(service.name, 7001)));
    }
    const leaderName = await leaseHolder(clients);
    leader = clients.get(leaderName) as coordinatorV1.CoordinatorClient;
    follower = [...clients].find(([name]) => name !== leaderName)?.[1] as coordinatorV1.CoordinatorClient;
  }, 90_000);

  afterAll(async () => {
    await killAllProcesses();
    for (const client of clients.values()) client.close();
    await cluster?.stop();
    await fakes?.stop();
  });

  const call = <Req, Res>(client: coordinatorV1.CoordinatorClient, method: UnaryMethod<Req, Res>, request: Req) =>
    callUnary(client, method, request, { deadlineMs: 5_000 });

  const replica = (id: string, port = 0): coordinatorV1.Member => ({
    id,
    address: fakes.byId.get(id)?.address ?? `127.0.0.1:${port}`,
    role: MemberRole.MEMBER_ROLE_REPLICA,
    groupId: 'group-a',
    metricsAddress: '',
  });

  it('creates a group, puts it on the ring, fails it over once its lease is surely over, and a watcher sees it all', async () => {
    const watched: coordinatorV1.TopologyEvent[] = [];
    const watch = follower.watchTopology({ startRevision: 1n }, new Metadata());
    watch.on('data', (response: coordinatorV1.WatchTopologyResponse) => watched.push(...response.events));
    watch.on('error', () => undefined);

    for (const id of ['replica-a1', 'replica-a2', 'replica-a3']) {
      await call(leader, leader.registerMember, { member: replica(id), requestId: '' });
    }
    const created = await call(leader, leader.createGroup, {
      groupId: 'group-a',
      members: ['replica-a1', 'replica-a2', 'replica-a3'],
      mode: ReplicationMode.REPLICATION_MODE_SYNC,
      requestId: '',
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
      requestId: '',
    });
    expect(ring.ring).toMatchObject({ version: 1n, virtualNodesPerWeight: 4096 });

    // Once granted a lease, the primary may act until lease + drift has passed on the leader's clock.
    const granted = await call(leader, leader.renewPrimaryLease, {
      groupId: 'group-a',
      memberId: 'replica-a1',
      epoch: firstEpoch,
      requestId: '',
    });
    expect(granted.leaseMs).toBe(600);
    const grantedAt = performance.now();
    fakes.answer({ 'replica-a1': [firstEpoch, 3n], 'replica-a2': [firstEpoch, 2n], 'replica-a3': [firstEpoch, 3n] });
    // A healthy primary's group is handed over: renewals stop, and the call answers once the lease ran out.
    const failover = { groupId: 'group-a', expectedEpoch: firstEpoch, targetPrimary: 'replica-a2', requestId: '' };
    const failedOver = await call(leader, leader.failover, failover);
    expect(failedOver.group).toMatchObject({ epoch: firstEpoch + 1n, primary: 'replica-a2' });
    // Not before the lease (600 ms) plus the drift bound (60 ms) had passed since the leader
    // applied the grant, which was before this test saw the grant's answer (less 100 ms for that answer).
    expect(performance.now() - grantedAt).toBeGreaterThanOrEqual(560);
    // Silent members: the group is not failed over again while the test goes on.
    fakes.answer({ 'replica-a1': 'silent', 'replica-a2': 'silent', 'replica-a3': 'silent' });

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

  it('applies a Failover retried with the same request_id once, and answers both calls alike', async () => {
    for (const id of ['replica-b1', 'replica-b2', 'replica-b3']) {
      await call(leader, leader.registerMember, { member: { ...replica(id), groupId: 'group-b' }, requestId: '' });
    }
    const created = await call(leader, leader.createGroup, {
      groupId: 'group-b',
      members: ['replica-b1', 'replica-b2', 'replica-b3'],
      mode: ReplicationMode.REPLICATION_MODE_SYNC,
      requestId: '',
    });
    const epoch = created.group?.epoch as bigint;
    // Without a target the members' durable logs choose: replica-b2 is the most up to date.
    fakes.answer({ 'replica-b1': [epoch, 5n], 'replica-b2': [epoch, 9n], 'replica-b3': [epoch, 7n] });
    const request = { groupId: 'group-b', expectedEpoch: epoch, targetPrimary: '', requestId: 'failover-group-b-1' };
    const first = await call(leader, leader.failover, request);
    const retried = await call(leader, leader.failover, request);
    expect(retried.group).toEqual(first.group);
    expect(retried.header?.revision).toBe(first.header?.revision);
    expect(first.group).toMatchObject({
      epoch: epoch + 1n,
      primary: 'replica-b2',
      inSync: ['replica-b2', 'replica-b3'],
    });
    const topology = await call(leader, leader.getTopology, {});
    expect(topology.topology?.groups.find((group) => group.id === 'group-b')).toMatchObject({
      epoch: epoch + 1n,
      inSync: ['replica-b2', 'replica-b3'],
    });

    const reused = await rejection(call(leader, leader.failover, { ...request, targetPrimary: 'replica-b3' }));
    expect([reused.name, reused.details.field]).toEqual(['AlreadyExistsError', 'request_id']);
    const unguarded = await rejection(
      call(leader, leader.failover, { ...request, expectedEpoch: 0n, requestId: 'failover-group-b-2' }),
    );
    expect([unguarded.name, unguarded.details.field]).toEqual(['InvalidArgumentError', 'expected_epoch']);
    fakes.answer({ 'replica-b1': 'silent', 'replica-b2': 'silent', 'replica-b3': 'silent' });
  });

  it('registers a member through the coordinator client, which follows the leader hint from a follower', async () => {
    const followerName = [...clients].find(([, client]) => client === follower)?.[0] as string;
    const response = await registerMember({
      coordinators: [cluster.address(followerName, 7001)],
      member: {
        id: 'router-9',
        address: '127.0.0.1:7299',
        role: MemberRole.MEMBER_ROLE_ROUTER,
        groupId: '',
        metricsAddress: '',
      },
      logger: createLogger({ service: 'test', memberId: 'test', level: 'fatal' }),
      callDeadlineMs: 2_000,
      totalDeadlineMs: 20_000,
    });
    const topology = await call(leader, leader.getTopology, {});
    expect(response.header?.revision).toBeGreaterThan(0n);
    expect(topology.topology?.members.map((member) => member.id)).toContain('router-9');
  });

  it('takes a router that stops out of the topology, and refuses to remove a replica its group lists', async () => {
    const before = await call(leader, leader.getTopology, {});
    const watched: coordinatorV1.TopologyEvent[] = [];
    const watch = follower.watchTopology({ startRevision: (before.header?.revision ?? 0n) + 1n }, new Metadata());
    watch.on('error', () => undefined);
    const news: Array<() => void> = [];
    watch.on('data', (response: coordinatorV1.WatchTopologyResponse) => {
      watched.push(...response.events);
      for (const wake of news.splice(0)) wake();
    });
    const seen = async (what: (change: coordinatorV1.TopologyEvent['change']) => boolean) => {
      while (!watched.some((event) => what(event.change))) await new Promise<void>((wake) => news.push(wake));
    };
    try {
      const router = startService('router', {
        BULWARK_MEMBER_ID: 'router-leaving',
        BULWARK_LISTEN_ADDR: `127.0.0.1:${await freePort()}`,
        BULWARK_COORDINATORS: cluster.fleet
          .services()
          .map((service) => cluster.address(service.name, 7001))
          .join(','),
      });
      await seen((change) => change?.$case === 'memberRegistered' && change.memberRegistered.id === 'router-leaving');
      router.signal('SIGTERM');
      await seen((change) => change?.$case === 'memberDeregistered' && change.memberDeregistered === 'router-leaving');
      expect((await router.waitForExit(15_000)).code).toBe(0);
    } finally {
      watch.cancel();
    }
    const after = await call(leader, leader.getTopology, {});
    expect(after.topology?.members.map((member) => member.id)).not.toContain('router-leaving');

    // A replica its group lists leaves only with the group; an unknown id is named.
    const listed = await rejection(call(leader, leader.deregisterMember, { memberId: 'replica-a1', requestId: '' }));
    expect([listed.name, listed.details.field]).toEqual(['FailedPreconditionError', 'member_id']);
    const unknown = await rejection(call(leader, leader.deregisterMember, { memberId: 'ghost', requestId: '' }));
    expect([unknown.name, unknown.details.field]).toEqual(['NotFoundError', 'member_id']);
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
    const cases: Array<[() => Promise<unknown>, new (...args: never[]) => BulwarkError, string]> = [
      [() => call(leader, leader.registerMember, { member: undefined, requestId: '' }), InvalidArgumentError, 'member'],
      [
        () =>
          call(leader, leader.registerMember, {
            member: { ...replica('x', 7199), role: MemberRole.MEMBER_ROLE_UNSPECIFIED },
            requestId: '',
          }),
        InvalidArgumentError,
        'member.role',
      ],
      [
        () => call(leader, leader.registerMember, { member: replica('Bad_Id', 7198), requestId: '' }),
        InvalidArgumentError,
        'member.id',
      ],
      [
        () =>
          call(leader, leader.registerMember, {
            member: { ...replica('dup'), address: fakes.get('replica-a1').address },
            requestId: '',
          }),
        AlreadyExistsError,
        'member.address',
      ],
      [
        () => call(leader, leader.registerMember, { member: replica('ok', 7197), requestId: 'with space' }),
        InvalidArgumentError,
        'request_id',
      ],
      [
        () => call(leader, leader.failover, { groupId: 'nope', expectedEpoch: 1n, targetPrimary: '', requestId: '' }),
        NotFoundError,
        'group_id',
      ],
      [
        () => call(leader, leader.failover, { groupId: '', expectedEpoch: 0n, targetPrimary: '', requestId: '' }),
        InvalidArgumentError,
        'group_id',
      ],
      [
        () =>
          call(leader, leader.failover, {
            groupId: 'group-a',
            expectedEpoch: 1n,
            targetPrimary: 'replica-a3',
            requestId: '',
          }),
        FailedPreconditionError,
        'expected_epoch',
      ],
      [
        () =>
          call(leader, leader.setRing, {
            expectedVersion: 0n,
            virtualNodesPerWeight: 0,
            groups: [{ groupId: 'group-a', weight: 1 }],
            requestId: '',
          }),
        FailedPreconditionError,
        'expected_version',
      ],
      [
        () =>
          call(leader, leader.setRing, {
            expectedVersion: 1n,
            virtualNodesPerWeight: 0,
            groups: [{ groupId: 'group-a', weight: 0 }],
            requestId: '',
          }),
        InvalidArgumentError,
        'groups[0].weight',
      ],
      [
        () =>
          call(leader, leader.createGroup, {
            groupId: 'group-a',
            members: ['replica-a1'],
            mode: ReplicationMode.REPLICATION_MODE_SYNC,
            requestId: '',
          }),
        AlreadyExistsError,
        'group_id',
      ],
      [
        () => call(leader, leader.createGroup, { groupId: 'group-c', members: [], mode: 7 as never, requestId: '' }),
        InvalidArgumentError,
        'mode',
      ],
      [
        () =>
          call(leader, leader.renewPrimaryLease, {
            groupId: 'group-a',
            memberId: 'replica-a1',
            epoch: epoch as bigint,
            requestId: '',
          }),
        FailedPreconditionError,
        'member_id',
      ],
      [
        () =>
          call(leader, leader.updateInSyncSet, {
            groupId: 'group-a',
            epoch: 1n,
            primaryId: 'replica-a2',
            inSync: ['replica-a2'],
            requestId: '',
          }),
        FailedPreconditionError,
        'epoch',
      ],
      [
        () => call(leader, leader.deleteGroup, { groupId: 'group-a', requestId: '' }),
        FailedPreconditionError,
        'group_id',
      ],
      [
        () => call(leader, leader.reportSuspect, { reporterId: '', suspectId: 'replica-a2', phi: 9 }),
        InvalidArgumentError,
        'reporter_id',
      ],
      [
        () =>
          call(leader, leader.reportSuspect, {
            reporterId: 'x'.repeat(5 * 1024 * 1024),
            suspectId: 'replica-a2',
            phi: 9,
          }),
        InvalidArgumentError,
        'reporter_id',
      ],
      [
        () => call(leader, leader.reportSuspect, { reporterId: 'monitor-1', suspectId: 'replica-a2', phi: Number.NaN }),
        InvalidArgumentError,
        'phi',
      ],
    ];
    // Called one at a time, each awaited at once: a refusal is never left unhandled while another call runs.
    for (const [send, type, field] of cases) {
      const error = await rejection(send());
      expect([error.name, error.details.field, error.message]).toEqual([type.name, field, expect.any(String)]);
    }
  });
});
