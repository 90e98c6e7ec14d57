// The Monitor over real gRPC: a fake coordinator (its topology stream and
// answers set by the test) and members that are real servers with
// grpc.health.v1, killed and restarted on the same port. A killed primary
// goes DOWN, is reported once to the leader and makes its group
// unavailable; it comes back UP with its outage closed in the ledger, which
// a restarted monitor finds again on disk.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { coordinatorV1 } from '@bulwark/contracts';
import { startFakeCoordinator, type FakeCoordinator, type FakeWatch } from '@bulwark/coordinator-client/testing';
import { createLogger } from '@bulwark/logging';
import { ServingStatus, startServer, type RunningServer } from '@bulwark/rpc';
import { LedgerFile } from './ledger-file';
import { Monitor, type MonitorOptions, type MonitorView } from './monitor';

const logger = createLogger({ service: 'test', memberId: 'monitor-1', level: 'fatal' });
const { MemberRole, ReplicationMode } = coordinatorV1;

/** A member: a server with health only, which the test stops and starts again on its port. */
class FakeMember {
  private server: RunningServer | undefined;
  port = 0;

  constructor(readonly id: string) {}

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    this.server = await startServer({ address: `127.0.0.1:${this.port}`, logger, drainDeadlineMs: 100 }, () => []);
    this.port = this.server.port;
  }

  setServing(status: ServingStatus): void {
    this.server?.health.setAll(status);
  }

  async kill(): Promise<void> {
    await this.server?.drain('killed by the test');
    this.server = undefined;
  }
}

function replicaGroup(primary: string, epoch: bigint): coordinatorV1.ReplicaGroup {
  return {
    id: 'g1',
    epoch,
    primary,
    members: ['r1', 'r2'],
    inSync: ['r1', 'r2'],
    mode: ReplicationMode.REPLICATION_MODE_SYNC,
    primaryLeaseRevision: 0n,
    primaryLeaseMs: 0,
    handoverTarget: '',
  };
}

describe('Monitor', () => {
  let coordinator: FakeCoordinator;
  let members: FakeMember[];
  let dataDir: string;
  let monitor: Monitor | undefined;
  let watch: FakeWatch;

  beforeEach(async () => {
    coordinator = await startFakeCoordinator();
    coordinator.answer('getLeader', () => ({
      header: {
        memberId: 'c1',
        epoch: 0n,
        ballot: { round: 1n, nodeId: 'c1' },
        revision: 1n,
        sequence: 0n,
        groupId: '',
      },
      leaderId: 'c1',
      leaderAddress: coordinator.address,
    }));
    coordinator.answer('reportSuspect', () => ({ header: undefined, failoverStarted: true }));
    members = [new FakeMember('r1'), new FakeMember('r2')];
    await Promise.all(members.map((member) => member.start()));
    dataDir = mkdtempSync(join(tmpdir(), 'bulwark-monitor-'));
  });

  afterEach(async () => {
    monitor?.stop();
    monitor = undefined;
    await Promise.all(members.map((member) => member.kill()));
    await coordinator.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  async function startMonitor(extra: Partial<MonitorOptions> = {}): Promise<Monitor> {
    const ledgerFile = new LedgerFile(dataDir);
    const started = new Monitor({
      memberId: 'monitor-1',
      coordinators: [coordinator.address],
      logger,
      probeIntervalMs: 20,
      probeDeadlineMs: 200,
      reportSuspects: true,
      ledgerFile,
      ledger: ledgerFile.load(),
      ...extra,
    });
    started.start();
    watch = await coordinator.nextWatch();
    watch.send({
      snapshot: {
        revision: 5n,
        members: members.map((member) => ({
          id: member.id,
          address: member.address,
          role: MemberRole.MEMBER_ROLE_REPLICA,
          groupId: 'g1',
          metricsAddress: '',
        })),
        groups: [replicaGroup('r1', 1n)],
        ring: { version: 1n, virtualNodesPerWeight: 16, groups: [{ groupId: 'g1', weight: 1 }] },
      },
    });
    return started;
  }

  /** Resolves with the view once it holds; the monitor tells of every change. */
  function until(holds: (view: MonitorView) => boolean): Promise<MonitorView> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const view = (monitor as Monitor).view();
        if (!holds(view)) return false;
        stop();
        clearTimeout(timer);
        resolve(view);
        return true;
      };
      const stop = (monitor as Monitor).onChange(check);
      const timer = setTimeout(() => {
        stop();
        reject(new Error(`not within 10 s: ${JSON.stringify((monitor as Monitor).view().members)}`));
      }, 10_000);
      check();
    });
  }
  const stateOf = (view: MonitorView, id: string) => view.members.find((member) => member.id === id)?.state;

  it('watches the coordinators under their own ids and the members of the topology, and knows the leader', async () => {
    monitor = await startMonitor();
    const view = await until(
      (seen) => seen.leaderId === 'c1' && seen.members.length === 3 && seen.members.every((m) => m.state === 'UP'),
    );
    expect(view.members.map((member) => [member.id, member.role, member.leading])).toEqual([
      ['c1', 'coordinator', true],
      ['r1', 'replica', true],
      ['r2', 'replica', false],
    ]);
    expect(view.groups).toMatchObject([{ id: 'g1', primary: 'r1', available: true }]);
    expect(view.topologyRevision).toBe(5n);
  });

  it("counts a group's outage from its primary's state changes alone, with no evaluation between them", async () => {
    // A starved monitor: its periodic evaluation never runs during the test.
    monitor = await startMonitor({ evaluateIntervalMs: 600_000 });
    await until((view) => stateOf(view, 'r1') === 'UP' && view.groups[0]?.available === true);
    await members[0]?.kill();
    await until((view) => stateOf(view, 'r1') === 'DOWN');
    expect(
      monitor.availability.figures({ kind: 'group', id: 'g1' }, 'hour', Date.now()).outages[0]?.endUnixMs,
    ).toBeNull();
    await members[0]?.start();
    await until((view) => stateOf(view, 'r1') === 'UP');
    const group = monitor.availability.figures({ kind: 'group', id: 'g1' }, 'hour', Date.now());
    expect(group.failures).toBe(1);
    expect(group.outages[0]?.endUnixMs).not.toBeNull();
  });

  it('takes a killed primary DOWN, reports it, counts its outage and the group outage, and closes both when it is back', async () => {
    monitor = await startMonitor();
    await until((view) => stateOf(view, 'r1') === 'UP' && stateOf(view, 'r2') === 'UP');
    await members[0]?.kill();
    const goneAtMs = Date.now();
    const down = await until((view) => stateOf(view, 'r1') === 'DOWN');
    expect(down.groups[0]?.available).toBe(false);
    await until(() => coordinator.requests('reportSuspect').length > 0);
    expect(coordinator.requests('reportSuspect')[0]).toMatchObject({ reporterId: 'monitor-1', suspectId: 'r1' });
    const during = monitor.availability.figures({ kind: 'member', id: 'r1' }, 'hour', Date.now());
    expect(during.failures).toBe(1);
    expect(during.outages[0]?.endUnixMs).toBeNull();
    // Dated from the last heartbeat before the member was gone, not from the verdict after it.
    expect(during.outages[0]?.startUnixMs).toBeLessThanOrEqual(goneAtMs);

    const backAtMs = Date.now();
    await members[0]?.start();
    await until((view) => stateOf(view, 'r1') === 'UP' && view.groups[0]?.available === true);
    const after = monitor.availability.figures({ kind: 'member', id: 'r1' }, 'hour', Date.now());
    expect(after.failures).toBe(1);
    expect(after.outages[0]?.endUnixMs).toBeGreaterThanOrEqual(backAtMs);
    expect(monitor.availability.figures({ kind: 'group', id: 'g1' }, 'hour', Date.now()).failures).toBe(1);
    // The backup never went down, and nobody reported it.
    expect(monitor.availability.figures({ kind: 'member', id: 'r2' }, 'hour', Date.now()).failures).toBe(0);
    expect(coordinator.requests('reportSuspect').every((request) => request.suspectId === 'r1')).toBe(true);
  });

  it('reports no backup, takes NOT_SERVING as DOWN, and records a failover timed from the last heartbeat of the old primary', async () => {
    monitor = await startMonitor();
    await until((view) => stateOf(view, 'r2') === 'UP');
    members[1]?.setServing(ServingStatus.NOT_SERVING);
    await until((view) => stateOf(view, 'r2') === 'DOWN');
    members[1]?.setServing(ServingStatus.SERVING);
    await until((view) => stateOf(view, 'r2') === 'UP');
    expect(coordinator.requests('reportSuspect')).toEqual([]);

    await members[0]?.kill();
    await until((view) => stateOf(view, 'r1') === 'DOWN');
    watch.send({ events: [{ revision: 6n, change: { $case: 'groupUpdated', groupUpdated: replicaGroup('r2', 2n) } }] });
    const moved = await until((view) => view.failovers.length === 1);
    expect(moved.failovers[0]).toMatchObject({ groupId: 'g1', epoch: 2n, fromPrimary: 'r1', toPrimary: 'r2' });
    expect(moved.failovers[0]?.durationMs).toBeGreaterThan(0);
    expect(moved.groups[0]).toMatchObject({ primary: 'r2', available: true });
  });

  it('keeps its availability history across a restart', async () => {
    monitor = await startMonitor();
    await until((view) => stateOf(view, 'r2') === 'UP');
    await members[1]?.kill();
    await until((view) => stateOf(view, 'r2') === 'DOWN');
    await members[1]?.start();
    await until((view) => stateOf(view, 'r2') === 'UP');
    const before = monitor.availability.figures({ kind: 'member', id: 'r2' }, 'day', Date.now());
    monitor.stop();

    monitor = await startMonitor();
    const restored = monitor.availability.figures({ kind: 'member', id: 'r2' }, 'day', Date.now());
    expect(restored.failures).toBe(1);
    expect(restored.outages).toEqual(before.outages);
  });
});
