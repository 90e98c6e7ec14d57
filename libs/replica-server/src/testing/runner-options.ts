// ReplicaRunner options for the replica-server specs: what every one of them
// wants unless it says otherwise, so each spec states only what it tests.
import { performance } from 'node:perf_hooks';
import type { ReplicaRunnerOptions } from '../lib/replica-runner';

/** What a spec must give: the core, its store, the applied state, where messages go, and its logger. */
type Given<Outcome> = Pick<ReplicaRunnerOptions<Outcome>, 'node' | 'storage' | 'state' | 'send' | 'logger'>;

/**
 * `given` with leases granted and in-sync changes refused (the commit rule
 * keeps counting every backup), no snapshots, a 5 ms tick on the real clock,
 * no member addresses, and a fatal error thrown; `overrides` replace any.
 */
export function testRunnerOptions<Outcome>(
  given: Given<Outcome>,
  overrides: Partial<ReplicaRunnerOptions<Outcome>> = {},
): ReplicaRunnerOptions<Outcome> {
  return {
    coordinator: { renewLease: async () => 10_000, updateInSync: async () => undefined },
    fetchSnapshot: () => Promise.reject(new Error('no snapshots in this test')),
    clockMs: () => performance.now(),
    tickMs: 5,
    snapshotEveryEntries: 1_000_000,
    snapshotKeepEntries: 0,
    waitingWritesMax: 100,
    addressOf: () => undefined,
    onFatal: (error) => {
      throw error;
    },
    ...given,
    ...overrides,
  };
}
