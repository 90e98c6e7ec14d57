// Scenario tests: edge cases as short scripts on a hand-driven cluster.
import { InvalidArgumentError } from '@bulwark/errors';
import { ManualCluster } from '../testing/manual-cluster';
import { MemoryStorage } from '../testing/memory-storage';
import { leaderLearnsValueChosenElsewhere } from '../testing/scenarios';
import type { Message } from './messages';
import { compareBallots, quorum } from './ballot';
import { defaultPaxosSettings, leaseTicks, validatePaxosSettings } from './config';

const ids = ['a', 'b', 'c'];

function others(leader: string): [string, string] {
  const [first, second] = ids.filter((id) => id !== leader);
  return [first as string, second as string];
}

/** Ticks everyone and delivers until every up node has applied `length` entries. */
function settle(cluster: ManualCluster, length: number, maxTicks = 100): void {
  for (let tick = 0; tick < maxTicks; tick++) {
    if (ids.filter((id) => cluster.isUp(id)).every((id) => cluster.log(id).length >= length)) return;
    cluster.tickAll();
    cluster.deliverAll();
  }
  throw new Error(`not settled: ${ids.map((id) => `${id}=${cluster.log(id).join(',')}`).join(' ')}`);
}

describe('PaxosNode', () => {
  it('elects one leader, which commits proposals in order on every node', () => {
    const cluster = new ManualCluster(ids);
    const leader = cluster.electLeader();
    expect(cluster.leaders()).toEqual([leader]);
    cluster.propose(leader, 'x');
    cluster.propose(leader, 'y');
    cluster.deliverAll();
    settle(cluster, 3);
    // Slot 1 is the new leader's barrier no-op.
    for (const id of ids) expect(cluster.log(id)).toEqual(['', 'x', 'y']);
  });

  it('refuses proposals on a follower and names the leader', () => {
    const cluster = new ManualCluster(ids);
    const leader = cluster.electLeader();
    const [follower] = others(leader);
    expect(cluster.node(follower).propose(new Uint8Array([1]))).toEqual({
      ok: false,
      reason: 'not-leader',
      leaderId: leader,
    });
  });

  it('does not let a candidate win while a follower that heard the leader protects its lease', () => {
    const cluster = new ManualCluster(ids);
    const leader = cluster.electLeader();
    const [candidate, follower] = others(leader);
    cluster.cut(leader, candidate);
    for (let tick = 0; tick < 60; tick++) {
      cluster.tickAll();
      cluster.deliverAll();
      expect(cluster.node(leader).hasLease()).toBe(true);
      expect(cluster.leaders()).toEqual([leader]);
    }
    // The cut-off member asks for pre-votes but the follower, hearing the leader, refuses:
    // it never campaigns, never raises its round, and gets no promise.
    expect(cluster.sent.some((message) => message.type === 'preVote' && message.from === candidate)).toBe(true);
    expect(cluster.sent.some((message) => message.type === 'prepare' && message.from === candidate)).toBe(false);
    const promisesToCandidate = cluster.sent.filter(
      (message) => message.type === 'promise' && message.from === follower && message.to === candidate,
    );
    expect(promisesToCandidate).toEqual([]);

    // Once the leader is gone and its lease surely over, the candidate gets through.
    cluster.crash(leader);
    const next = cluster.electLeader();
    expect(next).not.toBe(leader);
    expect(compareBallots(cluster.node(next).promisedBallot, cluster.node(follower).promisedBallot)).toBe(0);
  });

  it('re-proposes a value a majority accepted though no one saw it committed', () => {
    const cluster = new ManualCluster(ids);
    const leader = cluster.electLeader();
    settle(cluster, 1);
    const [witness, other] = others(leader);
    cluster.cut(leader, other);
    cluster.propose(leader, 'v');
    // The witness accepts; its answer is lost, so the leader never learns v is chosen.
    cluster.deliverAll((message) => message.type !== 'accepted');
    cluster.crash(leader);
    cluster.heal();
    cluster.electLeader();
    settle(cluster, 2);
    expect(cluster.log(witness)).toEqual(['', 'v', '']);
    expect(cluster.log(other)).toEqual(['', 'v', '']);
  });

  it('fills a slot nobody accepted with a no-op', () => {
    const cluster = new ManualCluster(ids);
    const leader = cluster.electLeader();
    settle(cluster, 1);
    const [witness, other] = others(leader);
    cluster.cut(leader, other);
    const lost = cluster.propose(leader, 'x');
    cluster.propose(leader, 'y');
    cluster.deliverAll(
      (message) =>
        message.type !== 'accepted' && !(message.type === 'accept' && message.entries.some((e) => e.slot === lost)),
    );
    cluster.crash(leader);
    cluster.heal();
    cluster.electLeader();
    settle(cluster, 3);
    expect(cluster.log(witness).slice(0, 3)).toEqual(['', '', 'y']);
    expect(cluster.log(other).slice(0, 3)).toEqual(['', '', 'y']);
  });

  it('catches up a node that missed commits, from the log', () => {
    const cluster = new ManualCluster(ids);
    const leader = cluster.electLeader();
    const [, lagging] = others(leader);
    cluster.isolate(lagging);
    for (const command of ['p', 'q', 'r']) cluster.propose(leader, command);
    cluster.deliverAll();
    cluster.tickAll(2);
    cluster.deliverAll();
    expect(cluster.log(lagging)).toEqual([]);
    cluster.heal();
    settle(cluster, 4);
    expect(cluster.log(lagging)).toEqual(cluster.log(leader));
  });

  it('catches up a node behind a compaction from the chosen values kept past it, without a snapshot', () => {
    const cluster = new ManualCluster(ids);
    const lagging = catchUpAfterCompaction(cluster);
    expect(cluster.log(lagging)).toEqual(['', 'p', 'q', 'r']);
    expect(cluster.sent.some((message) => message.type === 'installSnapshot')).toBe(false);
  });

  it('catches up a member that comes back with an empty disk: its lower commit point is believed', () => {
    const cluster = new ManualCluster(ids);
    const leader = cluster.electLeader();
    const [, wiped] = others(leader);
    for (const command of ['p', 'q']) cluster.propose(leader, command);
    settle(cluster, 3);
    cluster.crash(wiped);
    cluster.storages.set(wiped, new MemoryStorage());
    cluster.start(wiped);
    settle(cluster, 3);
    expect(cluster.log(wiped)).toEqual(['', 'p', 'q']);
  });

  it('sends a snapshot to a node whose commit point is before what the log keeps', () => {
    const cluster = new ManualCluster(ids, { catchUpTailEntries: 1 });
    const lagging = catchUpAfterCompaction(cluster);
    expect(cluster.log(lagging)).toEqual(['', 'p', 'q', 'r']);
    expect(cluster.sent.some((message) => message.type === 'installSnapshot' && message.to === lagging)).toBe(true);
  });

  it('recovers its committed log from durable state after a crash', () => {
    const cluster = new ManualCluster(ids);
    const leader = cluster.electLeader();
    const [follower] = others(leader);
    cluster.propose(leader, 'x');
    settle(cluster, 2);
    cluster.crash(follower);
    cluster.start(follower);
    expect(cluster.log(follower)).toEqual(['', 'x']);
    expect(cluster.node(follower).role).toBe('follower');
  });

  it('rejects a ballot below its promise', () => {
    const cluster = new ManualCluster(ids);
    const leader = cluster.electLeader();
    const [follower] = others(leader);
    cluster.node(follower).receive({
      type: 'accept',
      from: others(leader)[1],
      to: follower,
      ballot: { round: 0n, nodeId: 'c' },
      entries: [{ slot: 9n, command: new Uint8Array([1]) }],
      commitSlot: 0n,
    });
    cluster.tick(follower, 0);
    const last = cluster.node(follower).takeReady().messages.at(-1);
    expect(last).toMatchObject({ type: 'reject', promised: cluster.node(leader).promisedBallot });
  });

  it('steps down and loses its lease when it cannot reach a majority', () => {
    const cluster = new ManualCluster(ids);
    const leader = cluster.electLeader();
    cluster.isolate(leader);
    cluster.tick(leader, leaseTicks(cluster.settings) + 1);
    expect(cluster.node(leader).hasLease()).toBe(false);
    cluster.tick(leader, cluster.settings.electionTimeoutMaxTicks + 1);
    expect(cluster.node(leader).role).not.toBe('leader');
  });
});

describe('settings', () => {
  it('derive a lease shorter than the election timeout by the drift bound', () => {
    expect(leaseTicks(defaultPaxosSettings)).toBe(8);
    expect(leaseTicks({ ...defaultPaxosSettings, electionTimeoutMinTicks: 100, clockDriftPpm: 0 })).toBe(99);
    expect(leaseTicks({ ...defaultPaxosSettings, electionTimeoutMinTicks: 100, clockDriftPpm: 100_000 })).toBe(80);
  });

  it('reject bad values naming the setting', () => {
    const bad = (patch: Partial<typeof defaultPaxosSettings>, field: string) => {
      expect(() => validatePaxosSettings({ ...defaultPaxosSettings, ...patch })).toThrow(InvalidArgumentError);
      try {
        validatePaxosSettings({ ...defaultPaxosSettings, ...patch });
      } catch (error) {
        expect((error as InvalidArgumentError).details.field).toBe(field);
      }
    };
    bad({ electionTimeoutMinTicks: 0 }, 'electionTimeoutMinTicks');
    bad({ electionTimeoutMaxTicks: 5 }, 'electionTimeoutMaxTicks');
    bad({ heartbeatIntervalTicks: 6 }, 'heartbeatIntervalTicks');
    bad({ clockDriftPpm: 600_000 }, 'clockDriftPpm');
    bad({ batchEntriesMax: 1.5 }, 'batchEntriesMax');
  });
});

describe('quorum', () => {
  it('is a strict majority', () => {
    expect([1, 2, 3, 4, 5, 7].map(quorum)).toEqual([1, 2, 2, 3, 3, 4]);
    expect(() => quorum(0)).toThrow(RangeError);
    expect(() => quorum(2.5)).toThrow(RangeError);
  });
});

describe('a leader that learns values chosen elsewhere', () => {
  it('steps down instead of advertising a commit point its own ballot did not reach', () => {
    const outcome = leaderLearnsValueChosenElsewhere(new ManualCluster(ids));
    expect(outcome.leaderRoleAfter).not.toBe('leader');
    // The witness never takes v as chosen: that slot's value came from another ballot.
    expect(outcome.witnessLog).not.toContain('v');
    expect(outcome.leaderLog).toEqual(['', '']);
  });
});

describe('pre-vote', () => {
  it('lets a member that was cut off rejoin without deposing the leader', () => {
    const cluster = new ManualCluster(ids);
    const leader = cluster.electLeader();
    const [isolated] = others(leader);
    const leaderBallot = cluster.node(leader).promisedBallot;
    cluster.isolate(isolated);
    for (let tick = 0; tick < 80; tick++) {
      cluster.tickAll();
      cluster.deliverAll();
    }
    // Many election timeouts later it has not raised its round.
    expect(cluster.node(isolated).promisedBallot.round).toBeLessThanOrEqual(leaderBallot.round);
    cluster.heal();
    for (let tick = 0; tick < 10; tick++) {
      cluster.tickAll();
      cluster.deliverAll();
      expect(cluster.node(leader).hasLease()).toBe(true);
    }
    expect(cluster.leaders()).toEqual([leader]);
    expect(cluster.node(isolated).leaderId).toBe(leader);
  });

  it('still elects a new leader when the old one is gone', () => {
    const cluster = new ManualCluster(ids);
    const leader = cluster.electLeader();
    cluster.crash(leader);
    expect(cluster.electLeader()).not.toBe(leader);
  });

  it('never lets a leader depose itself on pre-vote grants that arrive after it won', () => {
    const cluster = new ManualCluster(ids);
    // Everyone's leader falls silent; a asks for pre-votes and campaigns.
    cluster.tickAll(cluster.settings.electionTimeoutMinTicks);
    cluster.deliverAll(() => false);
    tickUntilSent(cluster, 'a', 'preVote');
    cluster.deliverAll((message) => message.type !== 'promise');
    const promises = cluster.sent.filter((message) => message.type === 'promise' && message.to === 'a');
    expect(promises.length).toBeGreaterThan(0);
    // Its campaign stalls: the promises are late. It asks for pre-votes again.
    const sentBefore = cluster.sent.length;
    tickUntilSent(cluster, 'a', 'preVote');
    const preVotes = cluster.sent.slice(sentBefore).filter((message) => message.type === 'preVote');
    // The late promises of the abandoned campaign elect nobody.
    for (const promise of promises) cluster.deliverLate(promise);
    expect(cluster.node('a').role).not.toBe('leader');
    // a campaigns once on the new pre-votes and wins; late duplicate grants change nothing.
    for (const preVote of preVotes) cluster.deliverLate(preVote);
    cluster.deliverAll();
    expect(cluster.node('a').role).toBe('leader');
    const ballot = cluster.node('a').promisedBallot;
    const grants = cluster.sent.filter((message) => message.type === 'preVoteReply' && message.to === 'a');
    for (const grant of grants) cluster.deliverLate(grant);
    cluster.deliverAll();
    expect(cluster.node('a').role).toBe('leader');
    expect(compareBallots(cluster.node('a').promisedBallot, ballot)).toBe(0);
  });

  it('never campaigns against a candidate it promised, on grants that arrive late', () => {
    const cluster = new ManualCluster(ids);
    cluster.tickAll(cluster.settings.electionTimeoutMinTicks);
    cluster.deliverAll(() => false);
    // b asks for pre-votes; the grants are held back.
    tickUntilSent(cluster, 'b', 'preVote');
    cluster.deliverAll((message) => message.type !== 'preVoteReply');
    const grantsToB = cluster.sent.filter(
      (message) => message.type === 'preVoteReply' && message.to === 'b' && message.granted,
    );
    expect(grantsToB.length).toBeGreaterThan(0);
    // c campaigns and b promises it; what c sends as leader does not reach b yet.
    tickUntilSent(cluster, 'c', 'preVote');
    cluster.deliverAll(
      (message) =>
        (message.type !== 'preVoteReply' || message.to === 'c') &&
        !(message.to === 'b' && (message.type === 'accept' || message.type === 'heartbeat')),
    );
    const cBallot = cluster.node('c').promisedBallot;
    expect(cBallot.nodeId).toBe('c');
    expect(compareBallots(cluster.node('b').promisedBallot, cBallot)).toBe(0);
    // b's late grants must not make it campaign against the candidate it promised.
    const sentBefore = cluster.sent.length;
    for (const grant of grantsToB) cluster.deliverLate(grant);
    expect(cluster.sent.slice(sentBefore).some((message) => message.type === 'prepare')).toBe(false);
    expect(compareBallots(cluster.node('b').promisedBallot, cBallot)).toBe(0);
  });
});

/** A member cut off while three commands commit and both others compact, then healed; returns it. */
function catchUpAfterCompaction(cluster: ManualCluster): string {
  const leader = cluster.electLeader();
  const [peer, lagging] = others(leader);
  cluster.isolate(lagging);
  for (const command of ['p', 'q', 'r']) cluster.propose(leader, command);
  cluster.deliverAll();
  cluster.tickAll(2);
  cluster.deliverAll();
  cluster.compact(leader);
  cluster.compact(peer);
  cluster.heal();
  settle(cluster, 4);
  return lagging;
}

/** Ticks one node until it sends a message of `type` (and only that node). */
function tickUntilSent(cluster: ManualCluster, id: string, type: Message['type'], maxTicks = 100): void {
  const before = cluster.sent.length;
  for (let tick = 0; tick < maxTicks; tick++) {
    cluster.tick(id);
    if (cluster.sent.slice(before).some((message) => message.type === type && message.from === id)) return;
  }
  throw new Error(`${id} sent no ${type} within ${maxTicks} ticks`);
}
