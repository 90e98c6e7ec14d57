// The simulator is only worth its seeds if it catches real bugs: plant one
// in the core and it must report a violation within the seeds `npm test`
// runs, naming the invariant the bug breaks.
import { replicationMutations, type ReplicationMutation } from '../testing/mutant-node';
import { runSimulation, type SimulationMode } from '../testing/simulator';

const seedsMax = 300;

function firstViolation(bug: ReplicationMutation, mode: SimulationMode): string | undefined {
  for (let seed = 1; seed <= seedsMax; seed++) {
    const result = runSimulation({ seed, mode, bug });
    if (result.violation) return result.violation;
  }
  return undefined;
}

// add-before-barrier needs a commit point that lags by exactly the last write
// at the moment of a failover: node.spec.ts drives that scenario by hand.
const caught: Partial<Record<ReplicationMutation, RegExp>> = {
  'ack-before-backups':
    /lacks write \d+ \(epoch \d+\) acknowledged as sync|applied .* where .* was applied before|not linearizable/,
  'no-epoch-check': /lacks write|applied .* where .* was applied before|discarded applied state|not linearizable/,
  'no-truncation': /applied .* where .* was applied before|differs from another member/,
  'read-without-barrier': /not linearizable/,
  'fresh-on-arrival': /claims to be [\d.]+ ms stale but has applied \d+, short of sync write/,
  'stale-view': /commits without [\w,-]+ of the coordinator's in-sync set/,
  'vouch-without-lease': /claims to be [\d.]+ ms stale but has applied \d+, short of sync write/,
};

describe('planted bugs in the replication core', () => {
  it('has an expectation for every mutation but the one node.spec shows in a scenario', () => {
    expect([...Object.keys(caught), 'add-before-barrier'].sort()).toEqual([...replicationMutations].sort());
  });

  it.each(Object.keys(caught).map((bug) => [bug as ReplicationMutation]))('catches %s', (bug) => {
    const violation = firstViolation(bug, 'sync');
    expect(violation).toMatch(caught[bug] as RegExp);
  });
});
