import { runLockSimulation, type LockMutation } from '../testing/lock-simulation';

const seedsPerChunk = 30;

describe('LockQuorum in seeded simulation', () => {
  // Seeds run in chunks of 30, a test each: a loaded CI machine then stretches many short tests, not one long one
  // past its timeout (a timed-out test's loop keeps running and slows the tests after it).
  const chunks = (servers: number, seeds: number, queueingShare: number): Array<[number, number, number, number]> =>
    Array.from({ length: Math.ceil(seeds / seedsPerChunk) }, (_, chunk) => [
      servers,
      chunk * seedsPerChunk + 1,
      Math.min(seeds, (chunk + 1) * seedsPerChunk),
      queueingShare,
    ]);
  it.each([
    ...chunks(3, 150, 0.7),
    ...chunks(5, 60, 0.7),
    // Nobody queues: plain attempts contend for every grant.
    ...chunks(3, 60, 0),
  ])(
    'keeps every invariant over %i servers for seeds %i to %i of lost messages, outages and clock rates (queueing share %d)',
    async (servers, seedFirst, seedLast, queueingShare) => {
      let grants = 0;
      let queueGrants = 0;
      let handovers = 0;
      let keptPlaces = 0;
      for (let seed = seedFirst; seed <= seedLast; seed++) {
        const result = await runLockSimulation({ seed, servers, queueingShare });
        expect({ seed, violations: result.violations }).toEqual({ seed, violations: [] });
        grants += result.grants.length;
        queueGrants += result.grants.filter((grant) => grant.waiterId !== undefined).length;
        handovers += result.grants.filter((grant) => grant.handedOver).length;
        keptPlaces += result.waiters.filter(
          ({ waiterId, grantedAtMs }) =>
            grantedAtMs !== undefined && (result.lapses.get(waiterId) ?? Infinity) >= grantedAtMs,
        ).length;
      }
      // The runs were not idle: clients took the lock thousands of times.
      expect(grants).toBeGreaterThan((seedLast - seedFirst + 1) * 10);
      if (queueingShare === 0) {
        expect(queueGrants).toBe(0);
      } else {
        // A good share of them were handed over by releases, the rest taken after an expiry or a lost release.
        expect(handovers).toBeGreaterThan(queueGrants / 4);
        // Most grants came from the queue, to waiters whose place never lapsed: arrival-order held for them.
        expect(queueGrants).toBeGreaterThan(grants / 2);
        expect(keptPlaces).toBeGreaterThan(queueGrants * 0.8);
      }
    },
  );

  it("keeps every invariant with a place lease near the service's ratio, where steps of an attempt renew first", async () => {
    let stepRenewals = 0;
    for (let seed = 1; seed <= seedsPerChunk; seed++) {
      const result = await runLockSimulation({ seed, servers: 3, waiterLeaseMs: 250 });
      expect({ seed, violations: result.violations }).toEqual({ seed, violations: [] });
      stepRenewals += result.stepRenewals;
    }
    expect(stepRenewals).toBeGreaterThan(seedsPerChunk);
  });

  // Bugs of the grant itself show best when nobody queues and attempts contend; bugs of the queue with waiters.
  // Bugs of the renewal rules, at the place lease where steps renew first (waiterLeaseMs, the last column).
  const planted: Array<[LockMutation, string, number, number, number?]> = [
    ['grant-ignores-fence', 'unique-tokens', 0, 100],
    ['forget-fences-on-restart', 'later-grant-higher-token', 0, 200],
    ['half-is-majority', 'mutual-exclusion', 0, 100],
    ['validity-from-completion', 'mutual-exclusion', 0, 100],
    ['grant-ignores-queue', 'arrival-order', 0.7, 100],
    ['grant-without-waiter-ignores-queue', 'no-barging', 0.7, 100],
    ['join-ignores-counter', 'arrival-order', 0.7, 100],
    ['join-ignores-counter', 'later-enqueue-higher-ticket', 0.7, 100],
    ['undo-forgets-place', 'arrival-order', 0.7, 200],
    // Same-owner attempts on one token: the loser's undo frees the grant that counted.
    ['undo-releases-by-owner', 'mutual-exclusion', 0, 20],
    ['undo-releases-by-owner', 'mutual-exclusion', 0.7, 20],
    ['handover-skips-fence-raise', 'unique-tokens', 0.7, 100],
    ['handover-validity-from-news', 'mutual-exclusion', 0.7, 100],
    ['release-hands-over-held-lock', 'mutual-exclusion', 0.7, 100],
    // A step after a renewal found the handover fails now and then (an outage): the wait ends without taking it.
    ['attempt-ignores-stop', 'handover-taken', 0.7, 50, 250],
    // Steps are short here unless messages are lost: a place that would not last a step of full call timeouts is
    // rare, first in seed 137.
    ['steps-skip-renewal', 'place-renewed', 0.7, 200, 250],
  ];

  it.each(planted)(
    'catches the planted bug %s (%s)',
    // A rest parameter: Jest takes a test function declaring more parameters than a row has values for one awaiting
    // done(), and the rows without a place lease would time out.
    async (...row) => {
      const [mutation, invariant, queueingShare, seedsMax, waiterLeaseMs] = row;
      const caught: string[] = [];
      for (let seed = 1; seed <= seedsMax && caught.length === 0; seed++) {
        const { violations } = await runLockSimulation({ seed, mutation, queueingShare, waiterLeaseMs });
        caught.push(...violations.filter((violation) => violation.startsWith(`${invariant}:`)));
      }
      expect(caught.length).toBeGreaterThan(0);
    },
  );
});
