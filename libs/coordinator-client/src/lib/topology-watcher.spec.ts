// The watcher against real gRPC servers that stream what each test writes:
// a snapshot then events, a stream broken mid-way, a member that stops, a
// member that is behind, a stream with a gap.
import { coordinatorV1 } from '@bulwark/contracts';
import { CancelledError, DeadlineExceededError, ResourceExhaustedError, UnavailableError } from '@bulwark/errors';
import { rejection } from '@bulwark/errors/testing';
import { createLogger } from '@bulwark/logging';
import { freePort } from '@bulwark/testing';
import { startFakeCoordinator, type FakeCoordinator } from '../testing';
import { TopologyWatcher, topologyWaitersMax } from './topology-watcher';

const logger = createLogger({ service: 'test', memberId: 'test', level: 'fatal' });
const waitMs = 10_000;

function replica(id: string): coordinatorV1.Member {
  return {
    id,
    address: `${id}:7100`,
    role: coordinatorV1.MemberRole.MEMBER_ROLE_REPLICA,
    groupId: 'g1',
    metricsAddress: '',
  };
}

function group(id: string, epoch: bigint, primary: string): coordinatorV1.ReplicaGroup {
  return coordinatorV1.ReplicaGroup.create({
    id,
    epoch,
    primary,
    members: ['r1', 'r2'],
    inSync: ['r1', 'r2'],
    mode: coordinatorV1.ReplicationMode.REPLICATION_MODE_SYNC,
    primaryLeaseRevision: epoch,
  });
}

function snapshot(revision: bigint, members: coordinatorV1.Member[]): coordinatorV1.Topology {
  return { revision, members, groups: [], ring: { version: 0n, virtualNodesPerWeight: 4096, groups: [] } };
}

const registered = (revision: bigint, member: coordinatorV1.Member): coordinatorV1.TopologyEvent => ({
  revision,
  change: { $case: 'memberRegistered', memberRegistered: member },
});
const groupUpdated = (revision: bigint, value: coordinatorV1.ReplicaGroup): coordinatorV1.TopologyEvent => ({
  revision,
  change: { $case: 'groupUpdated', groupUpdated: value },
});

const ids = (topology: coordinatorV1.Topology | undefined) => topology?.members.map((member) => member.id);
const at = (revision: bigint) => (topology: coordinatorV1.Topology) => topology.revision >= revision;

describe('TopologyWatcher', () => {
  const fakes: FakeCoordinator[] = [];
  const watchers: TopologyWatcher[] = [];
  let down: string;

  async function coordinators(count: number): Promise<FakeCoordinator[]> {
    const started = await Promise.all(Array.from({ length: count }, () => startFakeCoordinator()));
    fakes.push(...started);
    return started;
  }

  /** A started watcher and the revisions its listener heard, in order. */
  function watch(addresses: string[], options: { logger?: typeof logger } = {}) {
    const watcher = new TopologyWatcher({ coordinators: addresses, logger: options.logger ?? logger });
    watchers.push(watcher);
    const heard: bigint[] = [];
    watcher.onChange((topology) => heard.push(topology.revision));
    watcher.start();
    return { watcher, heard };
  }

  beforeAll(async () => {
    down = `127.0.0.1:${await freePort()}`;
  });

  afterEach(() => {
    for (const watcher of watchers.splice(0)) watcher.close();
  });

  afterAll(async () => {
    await Promise.all(fakes.map((fake) => fake.stop()));
  });

  it('applies the snapshot, then each batch of events in revision order', async () => {
    const [a] = (await coordinators(1)) as [FakeCoordinator];
    const { watcher, heard } = watch([a.address]);
    const stream = await a.nextWatch();
    expect(stream.startRevision).toBe(0n);
    expect(watcher.current()).toBeUndefined();

    stream.send({ snapshot: snapshot(5n, [replica('r2')]) });
    expect((await watcher.waitFor(at(5n), waitMs)).revision).toBe(5n);
    // One command's events share a revision and come in one message.
    stream.send({ events: [registered(6n, replica('r1')), groupUpdated(7n, group('g1', 7n, 'r1'))] });
    stream.send({
      events: [groupUpdated(8n, group('g2', 8n, 'r2')), groupUpdated(8n, group('g1', 8n, 'r2'))],
    });
    stream.send({ events: [{ revision: 9n, change: { $case: 'groupDeleted', groupDeleted: 'g2' } }] });
    stream.send({
      events: [
        {
          revision: 10n,
          change: {
            $case: 'ringUpdated',
            ringUpdated: { version: 1n, virtualNodesPerWeight: 16, groups: [{ groupId: 'g1', weight: 1 }] },
          },
        },
      ],
    });
    const topology = await watcher.waitFor(at(10n), waitMs);

    expect(watcher.current()?.revision).toBe(10n);
    expect(watcher.current()?.topology).toBe(topology);
    expect(ids(topology)).toEqual(['r1', 'r2']);
    expect(topology.groups.map((value) => value.id)).toEqual(['g1']);
    expect(watcher.group('g1')).toMatchObject({ epoch: 8n, primary: 'r2' });
    expect(watcher.group('g2')).toBeUndefined();
    expect(topology.ring?.groups).toEqual([{ groupId: 'g1', weight: 1 }]);
    expect(Object.isFrozen(topology) && Object.isFrozen(topology.members)).toBe(true);
    // Once per applied message, with the revision it reached.
    expect(heard).toEqual([5n, 7n, 8n, 9n, 10n]);
  });

  it('resumes a broken stream on the next member from the revision after the last one applied', async () => {
    const [a, b] = (await coordinators(2)) as [FakeCoordinator, FakeCoordinator];
    const { watcher, heard } = watch([a.address, b.address]);
    const first = await a.nextWatch();
    first.send({ snapshot: snapshot(3n, [replica('r1')]) });
    first.send({ events: [registered(4n, replica('r2'))] });
    await watcher.waitFor(at(4n), waitMs);

    first.fail(new UnavailableError('connection reset'));
    const resumed = await b.nextWatch();
    expect(resumed.startRevision).toBe(5n);
    resumed.send({ events: [registered(5n, replica('r3')), registered(6n, replica('r4'))] });
    const topology = await watcher.waitFor(at(6n), waitMs);

    expect(ids(topology)).toEqual(['r1', 'r2', 'r3', 'r4']);
    expect(heard).toEqual([3n, 4n, 6n]);
  });

  it('moves past a member that stopped and one that is down', async () => {
    const [a, b] = (await coordinators(2)) as [FakeCoordinator, FakeCoordinator];
    const { watcher, heard } = watch([a.address, down, b.address]);
    const first = await a.nextWatch();
    first.send({ snapshot: snapshot(10n, [replica('r1')]) });
    await watcher.waitFor(at(10n), waitMs);

    await a.stop();
    const resumed = await b.nextWatch();
    expect(resumed.startRevision).toBe(11n);
    resumed.send({ events: [registered(11n, replica('r2'))] });
    expect(ids(await watcher.waitFor(at(11n), waitMs))).toEqual(['r1', 'r2']);
    expect(heard).toEqual([10n, 11n]);
  });

  it('never goes back: what a member that is behind sends at or below the revision applied is ignored', async () => {
    const [a, behind] = (await coordinators(2)) as [FakeCoordinator, FakeCoordinator];
    const { watcher, heard } = watch([a.address, behind.address]);
    const first = await a.nextWatch();
    first.send({ snapshot: snapshot(20n, [replica('r1')]) });
    await watcher.waitFor(at(20n), waitMs);

    first.fail(new UnavailableError('connection reset'));
    const lagging = await behind.nextWatch();
    expect(lagging.startRevision).toBe(21n);
    // Older than what was applied; r9 and the empty snapshot must not show.
    lagging.send({ snapshot: snapshot(15n, []) });
    lagging.send({ events: [registered(18n, replica('r9')), registered(20n, replica('r9'))] });
    lagging.send({ events: [registered(21n, replica('r2'))] });
    const topology = await watcher.waitFor(at(21n), waitMs);

    expect(ids(topology)).toEqual(['r1', 'r2']);
    expect(heard).toEqual([20n, 21n]);
  });

  it('starts over from a snapshot when a stream would leave a gap', async () => {
    const [a, b] = (await coordinators(2)) as [FakeCoordinator, FakeCoordinator];
    const { watcher, heard } = watch([a.address, b.address]);
    const first = await a.nextWatch();
    first.send({ snapshot: snapshot(30n, [replica('r1')]) });
    await watcher.waitFor(at(30n), waitMs);

    first.send({ events: [registered(32n, replica('r3'))] });
    await first.ended;
    const fresh = await b.nextWatch();
    expect(fresh.startRevision).toBe(0n);
    fresh.send({ snapshot: snapshot(32n, [replica('r1'), replica('r2'), replica('r3')]) });

    expect(ids(await watcher.waitFor(at(32n), waitMs))).toEqual(['r1', 'r2', 'r3']);
    expect(heard).toEqual([30n, 32n]);
  });

  it('waitFor resolves on a later change and rejects on its deadline or when closed', async () => {
    const [a] = (await coordinators(1)) as [FakeCoordinator];
    const { watcher } = watch([a.address]);
    const stream = await a.nextWatch();
    const primaryMoved = watcher.waitFor((topology) => topology.groups.some((g) => g.primary === 'r2'), waitMs);
    stream.send({ snapshot: snapshot(40n, [replica('r1')]) });
    stream.send({ events: [groupUpdated(41n, group('g1', 41n, 'r1'))] });
    stream.send({ events: [groupUpdated(42n, group('g1', 42n, 'r2'))] });
    expect((await primaryMoved).revision).toBe(42n);
    // Satisfied already: resolves with the current topology.
    expect((await watcher.waitFor(at(42n), waitMs)).revision).toBe(42n);

    const never = await rejection(watcher.waitFor((topology) => topology.groups.length > 5, 50));
    expect(never).toBeInstanceOf(DeadlineExceededError);

    const pending = rejection(watcher.waitFor(at(1_000n), waitMs));
    watcher.close();
    expect(await pending).toBeInstanceOf(CancelledError);
  });

  it('logs a listener that throws and still applies and tells the others', async () => {
    const [a] = (await coordinators(1)) as [FakeCoordinator];
    const lines: string[] = [];
    const destination = { write: (line: string) => lines.push(line) };
    const captured = createLogger({ service: 'test', memberId: 'test', level: 'error', destination });
    const { watcher, heard } = watch([a.address], { logger: captured });
    watcher.onChange(() => {
      throw new Error('listener bug');
    });
    const after: bigint[] = [];
    watcher.onChange((topology) => after.push(topology.revision));
    const stream = await a.nextWatch();
    stream.send({ snapshot: snapshot(50n, []) });
    stream.send({ events: [registered(51n, replica('r1'))] });
    await watcher.waitFor(at(51n), waitMs);

    expect(heard).toEqual([50n, 51n]);
    expect(after).toEqual([50n, 51n]);
    expect(lines.filter((line) => line.includes('topology listener failed'))).toHaveLength(2);
  });

  it('bounds the waitFor calls pending at once', async () => {
    const { watcher } = watch([down]);
    const pending = Array.from({ length: topologyWaitersMax }, () =>
      watcher.waitFor(() => false, waitMs).catch((error: unknown) => error),
    );
    expect(await rejection(watcher.waitFor(() => false, waitMs))).toBeInstanceOf(ResourceExhaustedError);
    watcher.close();
    for (const error of await Promise.all(pending)) expect(error).toBeInstanceOf(CancelledError);
  });
});
