// Scenarios shared by the scenario tests and the planted-bug tests: each
// drives a ManualCluster into one edge case and reports what a test asserts.
import type { ManualCluster } from './manual-cluster';

/**
 * A leader cut off from one follower proposes v; the other follower (the
 * witness) accepts v in the leader's ballot. Then a delayed catch-up says a
 * higher ballot chose a no-op at that slot. A correct leader steps down
 * before learning it; one that keeps leading advertises a commit point
 * covering the slot and the witness takes v as chosen.
 */
export function leaderLearnsValueChosenElsewhere(cluster: ManualCluster): {
  leaderRoleAfter: string;
  witnessLog: string[];
  leaderLog: string[];
} {
  const leader = cluster.electLeader();
  for (let tick = 0; tick < 50 && cluster.ids.some((id) => cluster.log(id).length < 1); tick++) {
    cluster.tickAll();
    cluster.deliverAll();
  }
  const [witness, other] = cluster.ids.filter((id) => id !== leader) as [string, string];
  cluster.cut(leader, other);
  const slot = cluster.propose(leader, 'v');
  // The witness accepts v in the leader's ballot; the leader never hears back.
  cluster.deliverAll((message) => message.type !== 'accepted');
  cluster.deliverLate({
    type: 'catchUp',
    from: other,
    to: leader,
    ballot: { round: 99n, nodeId: other },
    entries: [{ slot, command: new Uint8Array(0) }],
  });
  cluster.tick(leader, cluster.settings.heartbeatIntervalTicks);
  cluster.deliverAll();
  return {
    leaderRoleAfter: cluster.node(leader).role,
    witnessLog: cluster.log(witness),
    leaderLog: cluster.log(leader),
  };
}
