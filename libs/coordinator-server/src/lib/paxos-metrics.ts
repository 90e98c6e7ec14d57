// What a coordinator's Paxos member shows Prometheus, read from the core at
// each scrape: the core keeps all of it anyway, so proposals and commits
// pay nothing for it.
import { scrapedCounter, scrapedGauge } from '@bulwark/metrics';
import type { PaxosNode } from '@bulwark/paxos';

const isLeader = scrapedGauge({
  name: 'bulwark_paxos_is_leader',
  help: '1 while this member is the Paxos leader, else 0.',
});
const ballotRound = scrapedGauge({
  name: 'bulwark_paxos_ballot_round',
  help: 'Round of the highest ballot this member has promised; it grows with every election.',
});
const committedSlots = scrapedCounter({
  name: 'bulwark_paxos_committed_slots_total',
  help: 'Log slots this member knows are chosen (its commit point; slots are numbered from 1): rate() is the commit rate.',
});
const appliedSlot = scrapedGauge({
  name: 'bulwark_paxos_applied_slot',
  help: "The last log slot this member's state machine has applied.",
});

/** Reads `node` at each scrape until the returned function is called. */
export function readPaxosMetrics(node: PaxosNode): () => void {
  const stops = [
    isLeader.readFrom((sample) => sample(node.role === 'leader' ? 1 : 0)),
    ballotRound.readFrom((sample) => sample(Number(node.promisedBallot.round))),
    committedSlots.readFrom((sample) => sample(Number(node.commitSlot))),
    appliedSlot.readFrom((sample) => sample(Number(node.appliedSlot))),
  ];
  return () => stops.forEach((stop) => stop());
}
