// Canaries against real gRPC servers on loopback: a fake router (kv.v1.KV
// over a map, or stale, or UNAVAILABLE, or holding Puts) and a fake lock
// service, driven round by round with runOnce().
import { NotFoundError } from '@bulwark/errors';
import { expectInvalidArgument } from '@bulwark/errors/testing';
import { HashRing } from '@bulwark/partitioning';
import {
  fakeOtherOwner,
  serveFakeLockService,
  serveFakeRouter,
  type FakeLockService,
  type FakeRouter,
} from '../testing';
import {
  Canaries,
  canaryKeyFor,
  canaryKeyPrefix,
  canaryLockNameOf,
  type CanariesOptions,
  type CanaryRun,
  type CanaryTarget,
} from './canaries';

const ring = new HashRing(
  {
    version: 1n,
    groups: [
      { id: 'g1', weight: 1 },
      { id: 'g2', weight: 1 },
    ],
  },
  { virtualNodesPerWeight: 16 },
);
const lookup = (key: string) => ring.lookup(key);

describe('canaryKeyFor', () => {
  it('finds the first canary key the ring places in the group, under the reserved prefix', () => {
    for (const groupId of ['g1', 'g2']) {
      const key = canaryKeyFor(groupId, lookup, 'mon-a', 'r1');
      expect(lookup(key)).toBe(groupId);
      const stem = `${canaryKeyPrefix}mon-a/r1/${groupId}/`;
      expect(key.startsWith(stem)).toBe(true);
      const n = Number(key.slice(stem.length));
      // Every earlier candidate belongs to another group.
      for (let earlier = 0; earlier < n; earlier += 1) expect(lookup(`${stem}${earlier}`)).not.toBe(groupId);
    }
  });

  it('gives each monitor and each router its own key for a group', () => {
    const keys = [
      canaryKeyFor('g1', lookup, 'mon-a', 'r1'),
      canaryKeyFor('g1', lookup, 'mon-a', 'r2'),
      canaryKeyFor('g1', lookup, 'mon-b', 'r1'),
    ];
    expect(new Set(keys).size).toBe(3);
    for (const key of keys) expect(lookup(key)).toBe('g1');
  });

  it('throws NotFoundError for a group the ring does not hold, after triesMax candidates', () => {
    let asked = 0;
    const counting = (key: string) => {
      asked += 1;
      return lookup(key);
    };
    expect(() => canaryKeyFor('g9', counting, 'mon-a', 'r1', 50)).toThrow(NotFoundError);
    expect(asked).toBe(50);
    expect(() => canaryKeyFor('g9', lookup, 'mon-a', 'r1')).toThrow(/none of 10000 canary keys maps to group 'g9'/);
  });

  it('refuses a group id that would make keys longer than kv.v1 allows', () => {
    expectInvalidArgument(() => canaryKeyFor('g'.repeat(1_000), lookup, 'mon-a', 'r1'), 'groupId');
  });
});

describe('Canaries', () => {
  let router: FakeRouter;
  let otherRouter: FakeRouter;
  let lock: FakeLockService;
  const started: Canaries[] = [];
  /** Every run reported to onRun, by the canaries made with canaries(). */
  let reported: CanaryRun[];

  const kvTarget = (routerId: string, address: string, groupId: string, key?: string): CanaryTarget => ({
    kind: 'kv',
    routerId,
    routerAddress: address,
    groupId,
    key: key ?? canaryKeyFor(groupId, lookup, 'mon-a', routerId),
  });
  const lockTarget = (lockId: string, address = lock.address): CanaryTarget => ({
    kind: 'lock',
    lockId,
    lockAddress: address,
  });

  function canaries(options: Partial<CanariesOptions> = {}): Canaries {
    const made = new Canaries({ monitorId: 'mon-a', onRun: (run) => reported.push(run), ...options });
    started.push(made);
    return made;
  }

  beforeAll(async () => {
    router = await serveFakeRouter('r1', lookup);
    otherRouter = await serveFakeRouter('r2', lookup);
    lock = await serveFakeLockService('l1');
  });

  beforeEach(() => {
    reported = [];
    router.behaviour = 'serve';
    router.duringPut = undefined;
    lock.behaviour = 'serve';
  });

  afterEach(async () => {
    await Promise.all(started.splice(0).map((made) => made.stop()));
  });

  afterAll(async () => {
    await Promise.all([router.stop(), otherRouter.stop(), lock.stop()]);
  });

  it('runs every canary once a round: a write read back through the router, a lock taken and released', async () => {
    const subject = canaries();
    subject.setTargets([kvTarget('r1', router.address, 'g1'), kvTarget('r1', router.address, 'g2'), lockTarget('l1')]);
    const before = Date.now();
    const runs = await subject.runOnce();
    const after = Date.now();

    expect(runs.map((run) => [run.canaryId, run.kind, run.targetId, run.groupId, run.ok, run.error])).toEqual([
      ['kv/r1/g1', 'kv', 'r1', 'g1', true, null],
      ['kv/r1/g2', 'kv', 'r1', 'g2', true, null],
      ['lock/l1', 'lock', 'l1', null, true, null],
    ]);
    for (const run of runs) {
      expect(run.startUnixMs).toBeGreaterThanOrEqual(before);
      expect(run.endUnixMs).toBeGreaterThanOrEqual(run.startUnixMs);
      expect(run.endUnixMs).toBeLessThanOrEqual(after);
      expect(run.latencyMs).toBeGreaterThan(0);
      expect(run.latencyMs).toBeLessThanOrEqual(after - before + 1);
    }
    expect(reported).toEqual(runs);
    expect(router.putKeys.slice(-2).sort()).toEqual([
      canaryKeyFor('g1', lookup, 'mon-a', 'r1'),
      canaryKeyFor('g2', lookup, 'mon-a', 'r1'),
    ]);

    const name = canaryLockNameOf('mon-a', 'l1');
    expect(lock.tryAcquires.at(-1)).toEqual({ name, owner: 'mon-a', ttlMs: 5_000 });
    expect(lock.releases.at(-1)).toEqual({
      name,
      owner: 'mon-a',
      token: expect.any(BigInt),
      leaseId: expect.any(String),
    });
    expect(lock.held()).toEqual([]);
  });

  it('writes a fresh value every run: a router answering the first value again fails as a stale read', async () => {
    const subject = canaries();
    const key = canaryKeyFor('g1', lookup, 'mon-stale', 'r1');
    subject.setTargets([kvTarget('r1', router.address, 'g1', key)]);
    router.behaviour = 'stale';
    // The first run reads what it wrote: the key had no earlier value.
    expect((await subject.runOnce()).map((run) => run.error)).toEqual([null]);
    const [stale] = await subject.runOnce();
    expect(stale).toMatchObject({ canaryId: 'kv/r1/g1', ok: false });
    expect(stale?.error).toBe(`stale read: Get returned version 2 of ${key}, not the value Put wrote as version 2`);
  });

  it('reports a failed call by its gRPC code, method and message', async () => {
    const subject = canaries();
    subject.setTargets([kvTarget('r1', router.address, 'g1')]);
    router.behaviour = 'unavailable';
    const [run] = await subject.runOnce();
    expect(run).toMatchObject({ ok: false, error: 'UNAVAILABLE: Put: group g1 has no primary' });
  });

  it('fails a run whose key the router places in another group', async () => {
    const subject = canaries();
    subject.setTargets([kvTarget('r1', router.address, 'g1', canaryKeyFor('g2', lookup, 'mon-a', 'r1'))]);
    const [run] = await subject.runOnce();
    expect(run?.error).toBe(
      "wrong group: Put was answered by group 'g2', not 'g1': the canary key no longer maps to its group",
    );
  });

  it('fails a lock canary whose lock someone else holds, naming the holder', async () => {
    const subject = canaries();
    subject.setTargets([lockTarget('l1')]);
    lock.behaviour = 'taken';
    const [run] = await subject.runOnce();
    expect(run).toMatchObject({ canaryId: 'lock/l1', ok: false });
    expect(run?.error).toBe(
      `not acquired: ${canaryLockNameOf('mon-a', 'l1')} is held by '${fakeOtherOwner}' (token 41, 4000 ms left)`,
    );
  });

  it('takes back a lock it still holds from a run whose answer was lost, instead of failing until the TTL ends', async () => {
    const subject = canaries();
    subject.setTargets([lockTarget('l1')]);
    lock.grant(canaryLockNameOf('mon-a', 'l1'), 'mon-a');
    const releases = lock.releases.length;
    const [run] = await subject.runOnce();
    expect(run).toMatchObject({ canaryId: 'lock/l1', ok: true, error: null });
    // The leftover by owner and token, then the run's own grant by its lease id.
    expect(lock.releases.slice(releases).map((release) => release.leaseId === '')).toEqual([true, false]);
    expect(lock.held()).toEqual([]);
  });

  it('never collides on a lock: two monitors through two lock services sharing one backend run at once', async () => {
    const first = canaries({ monitorId: 'mon-a' });
    const second = canaries({ monitorId: 'mon-b' });
    // l1 and l2 are the same fake: one backend behind two lock services, as in the fleet.
    for (const subject of [first, second]) subject.setTargets([lockTarget('l1'), lockTarget('l2')]);
    const asked = lock.tryAcquires.length;
    const runs = (await Promise.all([first.runOnce(), second.runOnce()])).flat();
    expect(runs.map((run) => run.ok)).toEqual([true, true, true, true]);
    expect(new Set(lock.tryAcquires.slice(asked).map((request) => request.name)).size).toBe(4);
  });

  it('times runs on the monotonic clock it is given, and bounds both calls by one deadline', async () => {
    let monoMs = 1_000;
    const subject = canaries({ nowMonoMs: () => monoMs, nowUnixMs: () => 1_700_000_000_000, deadlineMs: 2_000 });
    subject.setTargets([kvTarget('r1', router.address, 'g1')]);
    router.duringPut = () => (monoMs += 25);
    expect(await subject.runOnce()).toEqual([
      expect.objectContaining({
        ok: true,
        latencyMs: 25,
        startUnixMs: 1_700_000_000_000,
        endUnixMs: 1_700_000_000_000,
      }),
    ]);
    // The Put spends the whole deadline: the Get is not sent.
    router.duringPut = () => (monoMs += 2_500);
    const [late] = await subject.runOnce();
    expect(late).toMatchObject({
      ok: false,
      latencyMs: 2_500,
      error: "DEADLINE_EXCEEDED: Get: no time left of the run's 2000 ms deadline",
    });
  });

  it('skips a canary whose previous run is still going, and runs it again once that run has ended', async () => {
    const subject = canaries();
    subject.setTargets([kvTarget('r1', router.address, 'g1')]);
    router.behaviour = 'held';
    const putsBefore = router.putKeys.length;
    const arrived = router.nextPut();
    const firstRound = subject.runOnce();
    await arrived;

    // The kv canary stays in the set, its run still in flight.
    subject.setTargets([kvTarget('r1', router.address, 'g1'), lockTarget('l1')]);
    const secondRound = await subject.runOnce();
    expect(secondRound.map((run) => run.canaryId)).toEqual(['lock/l1']);
    expect(router.putKeys.length).toBe(putsBefore + 1);

    router.behaviour = 'serve';
    router.release();
    expect((await firstRound).map((run) => [run.canaryId, run.ok])).toEqual([['kv/r1/g1', true]]);
    expect((await subject.runOnce()).map((run) => run.canaryId)).toEqual(['kv/r1/g1', 'lock/l1']);
    expect(router.putKeys.length).toBe(putsBefore + 2);
  });

  it('reuses one channel per address and closes those no canary uses any more', async () => {
    const subject = canaries();
    subject.setTargets([kvTarget('r1', router.address, 'g1'), kvTarget('r1', router.address, 'g2'), lockTarget('l1')]);
    await subject.runOnce();
    await subject.runOnce();
    expect(subject.openChannels()).toEqual({ kv: [router.address], lock: [lock.address] });

    subject.setTargets([kvTarget('r2', otherRouter.address, 'g1')]);
    expect(subject.openChannels()).toEqual({ kv: [], lock: [] });
    expect((await subject.runOnce()).map((run) => [run.canaryId, run.ok])).toEqual([['kv/r2/g1', true]]);
    expect(subject.openChannels()).toEqual({ kv: [otherRouter.address], lock: [] });
  });

  it('keeps the channel of a run in flight until it ends, and drops the outcome of a removed canary', async () => {
    const subject = canaries();
    subject.setTargets([kvTarget('r1', router.address, 'g1')]);
    router.behaviour = 'held';
    const arrived = router.nextPut();
    const round = subject.runOnce();
    await arrived;

    subject.setTargets([]);
    expect(subject.openChannels()).toEqual({ kv: [router.address], lock: [] });
    router.release();
    expect(await round).toEqual([]);
    expect(reported).toEqual([]);
    expect(subject.openChannels()).toEqual({ kv: [], lock: [] });
  });

  it('refuses targets every run would fail on, naming the field', () => {
    const subject = canaries();
    const key = canaryKeyFor('g1', lookup, 'mon-a', 'r1');
    expectInvalidArgument(
      () => subject.setTargets([kvTarget('r1', router.address, 'g1'), kvTarget('r1', otherRouter.address, 'g1')]),
      'targets[1]',
    );
    expectInvalidArgument(
      () => subject.setTargets([kvTarget('r1', router.address, 'g1', key), kvTarget('r2', router.address, 'g1', key)]),
      'targets[1].key',
    );
    expectInvalidArgument(() => subject.setTargets([kvTarget('r1', router.address, 'g1', '')]), 'targets[0].key');
    expectInvalidArgument(() => subject.setTargets([lockTarget('l1', 'no-port')]), 'targets[0].lockAddress');
    expectInvalidArgument(() => subject.setTargets([lockTarget('l'.repeat(250))]), 'targets[0].lockId');
    expectInvalidArgument(
      () => subject.setTargets(Array.from({ length: 4_097 }, (_, index) => lockTarget(`l${index}`))),
      'targets',
    );
    const onRun = () => undefined;
    expectInvalidArgument(() => new Canaries({ monitorId: '', onRun }), 'monitorId');
    expectInvalidArgument(() => new Canaries({ monitorId: 'mon-a', onRun, lockTtlMs: 50 }), 'lockTtlMs');
    expectInvalidArgument(() => new Canaries({ monitorId: 'mon-a', onRun, intervalMs: 0 }), 'intervalMs');
  });

  it('runs rounds on its timer from start() until stop(), which waits for the run in flight and closes channels', async () => {
    let threeRuns!: () => void;
    const timedRuns = new Promise<void>((resolve) => (threeRuns = resolve));
    const subject = canaries({
      intervalMs: 10,
      onRun: (run) => {
        reported.push(run);
        if (reported.length === 3) threeRuns();
      },
    });
    subject.setTargets([kvTarget('r1', router.address, 'g1')]);
    subject.start();
    await timedRuns;
    expect(reported.every((run) => run.ok)).toBe(true);

    router.behaviour = 'held';
    const arrived = router.nextPut();
    await arrived;
    const reportedBeforeStop = reported.length;
    let stopped = false;
    const stopping = subject.stop().then(() => (stopped = true));
    // One turn of the event loop: stop() must still be waiting for the held run.
    await new Promise((resolve) => setImmediate(resolve));
    expect(stopped).toBe(false);
    router.behaviour = 'serve';
    router.release();
    await stopping;
    expect(reported.length).toBe(reportedBeforeStop + 1);
    expect(reported.at(-1)).toMatchObject({ canaryId: 'kv/r1/g1', ok: true });
    expect(subject.openChannels()).toEqual({ kv: [], lock: [] });
    expect(await subject.runOnce()).toEqual([]);
    expect(reported.length).toBe(reportedBeforeStop + 1);
  });
});
