import { registry } from '@bulwark/metrics';
import { parseMetrics, valueOf, type Scrape } from '@bulwark/metrics/testing';
import { ManualCluster } from '@bulwark/paxos/testing';
import { readPaxosMetrics } from './paxos-metrics';

const scrape = async (): Promise<Scrape> => parseMetrics(await registry.metrics());

describe('Paxos metrics', () => {
  it("read a member's role, ballot, commit point and applied slot from its core at each scrape", async () => {
    const cluster = new ManualCluster(['a', 'b', 'c']);
    const leaderId = cluster.electLeader();
    for (const command of ['one', 'two', 'three']) cluster.propose(leaderId, command);
    cluster.deliverAll();
    const leader = cluster.node(leaderId);

    const stopLeader = readPaxosMetrics(leader);
    const asLeader = await scrape();
    expect(valueOf(asLeader, 'bulwark_paxos_is_leader')).toBe(1);
    expect(valueOf(asLeader, 'bulwark_paxos_ballot_round')).toBe(Number(leader.promisedBallot.round));
    expect(valueOf(asLeader, 'bulwark_paxos_ballot_round')).toBeGreaterThanOrEqual(1);
    // The three commands and the new leader's barrier no-op, at least.
    expect(valueOf(asLeader, 'bulwark_paxos_committed_slots_total')).toBeGreaterThanOrEqual(4);
    expect(valueOf(asLeader, 'bulwark_paxos_committed_slots_total')).toBe(Number(leader.commitSlot));
    expect(valueOf(asLeader, 'bulwark_paxos_applied_slot')).toBe(Number(leader.appliedSlot));
    stopLeader();

    const follower = cluster.node(cluster.ids.find((id) => id !== leaderId) as string);
    const stopFollower = readPaxosMetrics(follower);
    const asFollower = await scrape();
    expect(valueOf(asFollower, 'bulwark_paxos_is_leader')).toBe(0);
    expect(valueOf(asFollower, 'bulwark_paxos_ballot_round')).toBe(Number(leader.promisedBallot.round));
    stopFollower();

    // Once its member stopped, nothing is read from it.
    expect(valueOf(await scrape(), 'bulwark_paxos_committed_slots_total')).toBe(0);
  });
});
