// ReportSuspect on the leader: a report alone never moves a primary. The
// leader probes the suspect itself (grpc.health.v1 over real gRPC) and fails
// the group over only when the probe fails too, on Failover's path: the old
// primary's lease is still waited out, and reports from two monitors move
// the primary once.
import { coordinatorV1 } from '@bulwark/contracts';
import type { ReplicaGroup } from '@bulwark/metadata';
import { createLogger } from '@bulwark/logging';
import { ServingStatus, startServer } from '@bulwark/rpc';
import { freePort } from '@bulwark/testing';
import { serveCoordinator, serveFakeReplicas, type FakeReplicas, type ServedCoordinator } from '../testing';

const leaseMs = 600;
const driftMs = 60;
const grantedAtMs = 1_000;
const leaseEndMs = grantedAtMs + leaseMs + driftMs;

describe('ReportSuspect', () => {
  let replicas: FakeReplicas;
  let served: ServedCoordinator;
  let epoch: bigint;
  /** Where the dead primary r1 was registered: nothing listens there. */
  let deadAddress: string;

  beforeAll(async () => {
    replicas = await serveFakeReplicas(['r2', 'r3']);
    deadAddress = `127.0.0.1:${await freePort()}`;
  });

  afterAll(() => replicas.stop());

  beforeEach(async () => {
    replicas.reset();
    served = await serveCoordinator({ primaryLeaseMs: leaseMs, clockDriftMs: driftMs });
    const { call, client } = served;
    const addresses: Record<string, string> = {
      r1: deadAddress,
      r2: replicas.get('r2').address,
      r3: replicas.get('r3').address,
    };
    for (const [id, address] of Object.entries(addresses)) {
      const member = {
        id,
        address,
        role: coordinatorV1.MemberRole.MEMBER_ROLE_REPLICA,
        groupId: 'g1',
        metricsAddress: '',
      };
      await call(client.registerMember, { member, requestId: '' });
    }
    const created = await call(client.createGroup, {
      groupId: 'g1',
      members: ['r1', 'r2', 'r3'],
      mode: coordinatorV1.ReplicationMode.REPLICATION_MODE_SYNC,
      requestId: '',
    });
    epoch = created.group?.epoch as bigint;
    replicas.answer({ r2: [epoch, 19n], r3: [epoch, 18n] });
  });

  afterEach(() => served.stop());

  const group = () => served.replica.machine.group('g1') as ReplicaGroup;
  const report = (suspectId: string, reporterId = 'monitor-1') =>
    served.call(served.client.reportSuspect, { reporterId, suspectId, phi: 9 });

  it('only records a suspect that is no primary: nothing is proposed', async () => {
    const proposals = served.runner.proposals;
    expect((await report('r3')).failoverStarted).toBe(false);
    expect((await report('router-1')).failoverStarted).toBe(false);
    expect(served.runner.proposals).toBe(proposals);
  });

  it('leaves a suspect primary that answers the leader where it is', async () => {
    // r1 holds no lease yet at the group's first epoch: an explicit failover makes the live r2 primary at once.
    const moved = await served.call(served.client.failover, {
      groupId: 'g1',
      expectedEpoch: epoch,
      targetPrimary: 'r2',
      requestId: '',
    });
    const proposals = served.runner.proposals;
    expect((await report('r2')).failoverStarted).toBe(false);
    expect(served.runner.proposals).toBe(proposals);
    expect(group()).toMatchObject({ epoch: moved.group?.epoch, primary: 'r2' });
  });

  it('leaves a primary that answers NOT_SERVING where it is: the process lives, and its lease decides', async () => {
    const logger = createLogger({ service: 'test', memberId: 'r1', level: 'fatal' });
    const starting = await startServer({ address: '127.0.0.1:0', logger, drainDeadlineMs: 100 }, () => []);
    try {
      starting.health.setAll(ServingStatus.NOT_SERVING);
      const member = {
        id: 'r1',
        address: `127.0.0.1:${starting.port}`,
        role: coordinatorV1.MemberRole.MEMBER_ROLE_REPLICA,
        groupId: 'g1',
        metricsAddress: '',
      };
      await served.call(served.client.registerMember, { member, requestId: '' });
      const proposals = served.runner.proposals;
      expect((await report('r1')).failoverStarted).toBe(false);
      expect(served.runner.proposals).toBe(proposals);
      expect(group()).toMatchObject({ epoch, primary: 'r1' });
    } finally {
      await starting.drain('test done');
    }
  });

  it('fails over a primary the leader cannot reach either, to the most up-to-date in-sync member', async () => {
    const answer = await report('r1');
    expect(answer.failoverStarted).toBe(true);
    expect(group()).toMatchObject({ epoch: epoch + 1n, primary: 'r2' });
    expect(answer.header?.revision).toBe(served.replica.machine.revision);
  });

  it('still waits out the lease the dead primary may hold, and two monitors reporting move the primary once', async () => {
    served.clock.nowMs = grantedAtMs;
    await served.call(served.client.renewPrimaryLease, { groupId: 'g1', memberId: 'r1', epoch, requestId: '' });
    const reports = [report('r1', 'monitor-1'), report('r1', 'monitor-2')];
    await served.until(() => group().handoverTarget === 'r2');
    await served.failovers.idle();
    served.clock.nowMs = leaseEndMs - 1;
    await served.failovers.check();
    expect(group()).toMatchObject({ epoch, primary: 'r1' });
    served.clock.nowMs = leaseEndMs;
    await served.failovers.check();
    const answers = await Promise.all(reports);
    expect(group()).toMatchObject({ epoch: epoch + 1n, primary: 'r2' });
    expect(answers.map((answer) => answer.failoverStarted)).toContain(true);
  });
});
