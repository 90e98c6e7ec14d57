// status, failover and watch-topology in this process against fake
// coordinators on real gRPC (the real ones run only as processes): what each
// sends and prints, a watch that moves to another coordinator without
// repeating or skipping a revision, Ctrl-C, and a status that still shows
// what it can when the monitor and a primary do not answer.
import { coordinatorV1 } from '@bulwark/contracts';
import { startFakeCoordinator, type FakeCoordinator } from '@bulwark/coordinator-client/testing';
import { FailedPreconditionError, UnavailableError } from '@bulwark/errors';
import { freePort } from '@bulwark/testing';
import { CapturedIo } from '../testing/captured-io';
import { ExitCode } from './exit-codes';
import { runCli } from './program';

const { MemberRole, ReplicationMode } = coordinatorV1;

function group(epoch: bigint, primary: string, leaseRevision = 1n): coordinatorV1.ReplicaGroup {
  return {
    id: 'group-a',
    epoch,
    primary,
    members: ['replica-1', 'replica-2', 'replica-3'],
    inSync: ['replica-1', 'replica-2', 'replica-3'].filter((id) => id === primary || epoch === 3n),
    mode: ReplicationMode.REPLICATION_MODE_SYNC,
    primaryLeaseRevision: leaseRevision,
    primaryLeaseMs: 600,
    handoverTarget: '',
  };
}

const ring: coordinatorV1.Ring = { version: 1n, virtualNodesPerWeight: 0, groups: [{ groupId: 'group-a', weight: 1 }] };
const header = { memberId: 'coordinator-1', epoch: 0n, ballot: undefined, revision: 10n, sequence: 0n, groupId: '' };

describe('bulwark status, failover and watch-topology (in process)', () => {
  let first: FakeCoordinator;
  let second: FakeCoordinator;

  beforeEach(async () => {
    [first, second] = await Promise.all([startFakeCoordinator(), startFakeCoordinator()]);
  });

  afterEach(() => Promise.all([first.stop(), second.stop()]));

  const cli = (io: CapturedIo, argv: string[], coordinators = [first.address, second.address]) =>
    runCli(['--coordinators', coordinators.join(','), '--timeout', '3s', ...argv], io);

  describe('watch-topology', () => {
    it('prints a snapshot, then each change but lease renewals, resuming on another coordinator, until Ctrl-C', async () => {
      const io = new CapturedIo();
      const running = cli(io, ['watch-topology']);
      const watch = await first.nextWatch();
      expect(watch.startRevision).toBe(0n);
      watch.send({
        snapshot: {
          revision: 10n,
          members: [
            {
              id: 'replica-1',
              address: '10.0.0.1:7100',
              role: MemberRole.MEMBER_ROLE_REPLICA,
              groupId: 'group-a',
              metricsAddress: '',
            },
          ],
          groups: [group(3n, 'replica-1')],
          ring,
        },
      });
      watch.send({
        events: [
          { revision: 11n, change: { $case: 'groupUpdated', groupUpdated: group(3n, 'replica-1', 11n) } },
          { revision: 12n, change: { $case: 'groupUpdated', groupUpdated: group(4n, 'replica-2', 12n) } },
        ],
      });
      watch.send({
        events: [
          {
            revision: 13n,
            change: {
              $case: 'memberRegistered',
              memberRegistered: {
                id: 'router-1',
                address: '10.0.0.9:7200',
                role: MemberRole.MEMBER_ROLE_ROUTER,
                groupId: '',
                metricsAddress: '',
              },
            },
          },
        ],
      });
      await io.untilOutput('revision 13 ');
      watch.fail(new UnavailableError('stepping down'));

      // Picked up on the next coordinator right after the last revision printed.
      const resumed = await second.nextWatch();
      expect(resumed.startRevision).toBe(14n);
      resumed.send({
        events: [{ revision: 14n, change: { $case: 'ringUpdated', ringUpdated: { ...ring, version: 2n } } }],
      });
      await io.untilOutput('revision 14 ');
      expect(io.interrupt()).toBe(true);
      expect(await running).toBe(ExitCode.ok);
      expect(io.output.split('\n')).toEqual([
        'revision 10 snapshot: 1 members, 1 groups, ring version 1: group-a',
        'revision 10 group group-a epoch 3, primary replica-1, in-sync replica-1,replica-2,replica-3, sync',
        'revision 12 group group-a epoch 4, primary replica-2, in-sync replica-2, sync',
        'revision 13 member router-1 (router) at 10.0.0.9:7200',
        'revision 14 ring version 2: group-a',
        '',
      ]);
      await resumed.ended;
    });

    it('prints one JSON object a line with --json, lease renewals too with --all', async () => {
      const io = new CapturedIo();
      const running = cli(io, ['watch-topology', '--json', '--all', '--from-revision', '11']);
      const watch = await first.nextWatch();
      expect(watch.startRevision).toBe(11n);
      watch.send({
        events: [{ revision: 11n, change: { $case: 'groupUpdated', groupUpdated: group(3n, 'replica-1', 11n) } }],
      });
      watch.send({ events: [{ revision: 12n, change: { $case: 'groupDeleted', groupDeleted: 'group-b' } }] });
      await io.untilOutput('"revision":"12"');
      io.interrupt();
      expect(await running).toBe(ExitCode.ok);
      const lines = io.output
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as Record<string, unknown>);
      expect(lines).toEqual([
        {
          revision: '11',
          type: 'group-updated',
          group: expect.objectContaining({ id: 'group-a', epoch: '3', primaryLeaseRevision: '11' }),
        },
        { revision: '12', type: 'group-deleted', groupId: 'group-b' },
      ]);
    });

    it('exits 3 when no coordinator keeps a stream open', async () => {
      const io = new CapturedIo();
      const nobody = [`127.0.0.1:${await freePort()}`, `127.0.0.1:${await freePort()}`];
      expect(await cli(io, ['watch-topology'], nobody)).toBe(ExitCode.unavailable);
      expect(io.errors).toMatch(/^bulwark: UNAVAILABLE: /);
    });
  });

  describe('failover', () => {
    beforeEach(() => {
      for (const coordinator of [first, second]) {
        coordinator.answer('getTopology', () => ({
          header,
          topology: { revision: 10n, members: [], groups: [group(3n, 'replica-1')], ring },
        }));
      }
    });

    it('fails the group over at the epoch it is at, to the member asked for, and prints the new record', async () => {
      first.answer('failover', () => ({ header, group: group(4n, 'replica-2') }));
      const io = new CapturedIo();
      expect(await cli(io, ['failover', 'group-a', '--to', 'replica-2'])).toBe(ExitCode.ok);
      expect(io.output).toBe(
        'group-a epoch 4, primary replica-2, in-sync replica-2, sync (was replica-1 at epoch 3)\n',
      );
      const [request] = first.requests('failover');
      expect(request).toMatchObject({ groupId: 'group-a', expectedEpoch: 3n, targetPrimary: 'replica-2' });
      expect(request?.requestId).not.toBe('');
    });

    it('sends the expected epoch given, and exits 4 when the coordinators refuse it', async () => {
      first.answer('failover', () => {
        throw new FailedPreconditionError('expected_epoch', 'the group is at epoch 3, not 2');
      });
      const io = new CapturedIo();
      expect(await cli(io, ['failover', 'group-a', '--expected-epoch', '2'])).toBe(ExitCode.failedPrecondition);
      expect(io.errors).toBe('bulwark: FAILED_PRECONDITION: expected_epoch: the group is at epoch 3, not 2\n');
      expect(first.requests('getTopology')).toEqual([]);
    });

    it('exits 5 for a group that does not exist, asking nothing of the coordinators', async () => {
      const io = new CapturedIo();
      expect(await cli(io, ['failover', 'group-x'])).toBe(ExitCode.notFound);
      expect(io.errors).toBe('bulwark: NOT_FOUND: group: no group "group-x"\n');
      expect(first.requests('failover')).toEqual([]);
    });
  });

  describe('deregister', () => {
    it('removes the member through the leader with a request id, and exits 4 for a replica a group lists', async () => {
      first.answer('deregisterMember', (request) => {
        if (request.memberId === 'replica-1') {
          throw new FailedPreconditionError('member_id', "member 'replica-1' is a replica of group 'group-a'");
        }
        return { header: { ...header, revision: 12n } };
      });
      const io = new CapturedIo();
      expect(await cli(io, ['deregister', 'router-7'])).toBe(ExitCode.ok);
      expect(io.output).toBe('member router-7 deregistered at revision 12\n');
      const [request] = first.requests('deregisterMember');
      expect(request?.memberId).toBe('router-7');
      expect(request?.requestId).not.toBe('');
      const refused = new CapturedIo();
      expect(await cli(refused, ['deregister', 'replica-1'])).toBe(ExitCode.failedPrecondition);
      expect(refused.errors).toMatch(/^bulwark: FAILED_PRECONDITION: member_id: /);
    });
  });

  describe('status', () => {
    it('shows the coordinators, groups and members, and says what it could not learn', async () => {
      const unreachable = `127.0.0.1:${await freePort()}`;
      first.answer('getTopology', () => ({
        header,
        topology: {
          revision: 10n,
          members: [
            {
              id: 'replica-1',
              address: unreachable,
              role: MemberRole.MEMBER_ROLE_REPLICA,
              groupId: 'group-a',
              metricsAddress: '',
            },
            {
              id: 'router-1',
              address: '10.0.0.9:7200',
              role: MemberRole.MEMBER_ROLE_ROUTER,
              groupId: '',
              metricsAddress: '',
            },
          ],
          groups: [group(3n, 'replica-1')],
          ring,
        },
      }));
      for (const coordinator of [first, second]) {
        coordinator.answer('getLeader', () => ({ header, leaderId: 'coordinator-1', leaderAddress: first.address }));
      }
      const io = new CapturedIo();
      expect(await cli(io, ['status', '--monitor', unreachable])).toBe(ExitCode.ok);
      const text = io.output;
      expect(text).toMatch(new RegExp(`^leader +coordinator-1 \\(${first.address}\\)\n`));
      expect(text).toMatch(/\nring +version 1: group-a\n/);
      expect(text).toMatch(new RegExp(`monitor +${unreachable} unreachable \\(UNAVAILABLE: .*\\); health not shown`));
      expect(text).toMatch(/lag of group-a +unknown \(UNAVAILABLE: /);
      expect(text).toContain('GROUP    EPOCH  MODE  PRIMARY    IN-SYNC                        MEMBERS');
      expect(text).toMatch(
        /group-a +3 +sync +replica-1 +replica-1,replica-2,replica-3 +replica-1,replica-2,replica-3 +600 ms +\?/,
      );
      expect(text).toMatch(new RegExp(`replica-1 +replica +group-a +${unreachable} +\\? +\\?`));
      expect(text).toMatch(/router-1 +router +- +10\.0\.0\.9:7200 +\? +-/);
      expect(text).toMatch(new RegExp(`coordinator-1 +${first.address} +coordinator-1 +\\?`));

      const json = new CapturedIo();
      expect(await cli(json, ['status', '--json', '--monitor', unreachable])).toBe(ExitCode.ok);
      expect(JSON.parse(json.output)).toMatchObject({
        leader: { id: 'coordinator-1', address: first.address },
        revision: '10',
        monitor: { address: unreachable, reachable: false },
        groups: [{ id: 'group-a', epoch: '3', primary: 'replica-1', available: null, lagError: expect.any(String) }],
        members: [
          { id: 'replica-1', role: 'replica', health: null, replication: null },
          { id: 'router-1', role: 'router', health: null },
        ],
      });
    });

    it('exits 3 when no coordinator answers', async () => {
      const io = new CapturedIo();
      expect(await cli(io, ['status', '--timeout', '1s'], [`127.0.0.1:${await freePort()}`])).toBe(
        ExitCode.unavailable,
      );
      expect(io.errors).toMatch(/^bulwark: (UNAVAILABLE|DEADLINE_EXCEEDED): /);
    });
  });
});
