import { coordinatorV1 } from '@bulwark/contracts';
import { CancelledError, DeadlineExceededError } from '@bulwark/errors';
import type { RoutingTable } from './routing-table';
import { RoutingView, type TopologySource } from './routing-view';

/** A TopologyWatcher stand-in: publish() makes a topology current and tells the listeners. */
class FakeTopologySource implements TopologySource {
  private state: { revision: bigint; topology: coordinatorV1.Topology } | undefined;
  private readonly listeners = new Set<(topology: coordinatorV1.Topology) => void>();

  current() {
    return this.state;
  }

  onChange(listener: (topology: coordinatorV1.Topology) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  publish(topology: coordinatorV1.Topology): void {
    this.state = { revision: topology.revision, topology };
    for (const listener of this.listeners) listener(topology);
  }

  get listenerCount(): number {
    return this.listeners.size;
  }
}

/** One group of two replicas on a small ring; primary and lease as given. */
function topology(
  revision: bigint,
  { primary = 'replica-1', epoch = 1n, leaseRevision = 1n } = {},
): coordinatorV1.Topology {
  return {
    revision,
    members: ['replica-1', 'replica-2'].map((id, index) => ({
      id,
      address: `10.0.0.${index + 1}:7100`,
      role: coordinatorV1.MemberRole.MEMBER_ROLE_REPLICA,
      groupId: 'group-a',
      metricsAddress: '',
    })),
    groups: [
      {
        id: 'group-a',
        epoch,
        primary,
        members: ['replica-1', 'replica-2'],
        inSync: ['replica-1', 'replica-2'],
        mode: coordinatorV1.ReplicationMode.REPLICATION_MODE_SYNC,
        primaryLeaseRevision: leaseRevision,
        primaryLeaseMs: 2_000,
        handoverTarget: '',
      },
    ],
    ring: { version: 1n, virtualNodesPerWeight: 16, groups: [{ groupId: 'group-a', weight: 1 }] },
  };
}

/** A revision that only renews the lease: no route changes. */
const renewal = (revision: bigint) => topology(revision, { leaseRevision: revision });
/** A revision that fails group-a over to replica-2. */
const failover = (revision: bigint) => topology(revision, { primary: 'replica-2', epoch: 2n });

/** A promise and what became of it so far; observing it also keeps an expected rejection from going unhandled. */
interface Observed<T> {
  readonly promise: Promise<T>;
  outcome: 'pending' | 'resolved' | 'rejected';
}

function observe<T>(promise: Promise<T>): Observed<T> {
  const observed: Observed<T> = { promise, outcome: 'pending' };
  promise.then(
    () => (observed.outcome = 'resolved'),
    () => (observed.outcome = 'rejected'),
  );
  return observed;
}

/** Runs the timers due within ms, and the promise jobs they start. */
const elapse = (ms: number) => jest.advanceTimersByTimeAsync(ms);

let source: FakeTopologySource;
let view: RoutingView;

beforeEach(() => {
  jest.useFakeTimers();
  source = new FakeTopologySource();
});

afterEach(() => {
  view.close();
  jest.useRealTimers();
});

describe('RoutingView', () => {
  describe('ready', () => {
    it('resolves with the first table once a topology arrives', async () => {
      view = new RoutingView(source);
      expect(view.current()).toBeUndefined();
      const ready = observe(view.ready(1_000));
      await elapse(500);
      expect(ready.outcome).toBe('pending');
      source.publish(topology(5n));
      const table = await ready.promise;
      expect(table.revision).toBe(5n);
      expect(view.current()).toBe(table);
    });

    it('resolves at once with the topology the source had when the view was made', async () => {
      source.publish(topology(7n));
      view = new RoutingView(source);
      expect(view.current()?.revision).toBe(7n);
      await expect(view.ready(0)).resolves.toBe(view.current());
    });

    it('rejects with DeadlineExceededError when no topology comes within the timeout', async () => {
      view = new RoutingView(source);
      const ready = observe(view.ready(1_000));
      await elapse(999);
      expect(ready.outcome).toBe('pending');
      await elapse(1);
      await expect(ready.promise).rejects.toBeInstanceOf(DeadlineExceededError);
    });

    it('rejects with CancelledError when the view closes first', async () => {
      view = new RoutingView(source);
      const ready = observe(view.ready(1_000));
      view.close();
      await expect(ready.promise).rejects.toBeInstanceOf(CancelledError);
    });
  });

  describe('caughtUp', () => {
    it('resolves when a topology at the revision or later arrives, not before', async () => {
      source.publish(topology(10n));
      view = new RoutingView(source);
      const atTwelve = observe(view.caughtUp(12n, 60_000));
      const atThirteen = observe(view.caughtUp(13n, 60_000));
      source.publish(renewal(11n));
      await elapse(0);
      expect([atTwelve.outcome, atThirteen.outcome]).toEqual(['pending', 'pending']);
      // Revisions may skip: 14 satisfies both.
      source.publish(renewal(14n));
      await elapse(0);
      expect([atTwelve.outcome, atThirteen.outcome]).toEqual(['resolved', 'resolved']);
      expect(view.current()?.revision).toBe(14n);
    });

    it('resolves at once for a revision the table has reached', async () => {
      source.publish(topology(10n));
      view = new RoutingView(source);
      const reached = observe(view.caughtUp(10n, 60_000));
      const older = observe(view.caughtUp(3n, 60_000));
      await elapse(0);
      expect([reached.outcome, older.outcome]).toEqual(['resolved', 'resolved']);
    });

    it('resolves after the timeout when no such topology arrives', async () => {
      source.publish(topology(10n));
      view = new RoutingView(source);
      const events: string[] = [];
      void view.caughtUp(20n, 1_000).then(() => events.push('caughtUp resolved'));
      source.publish(renewal(15n));
      await elapse(999);
      events.push('999 ms passed');
      await elapse(1);
      expect(events).toEqual(['999 ms passed', 'caughtUp resolved']);
      expect(view.current()?.revision).toBe(15n);
    });

    it('resolves when the view closes', async () => {
      view = new RoutingView(source);
      const waiting = observe(view.caughtUp(20n, 60_000));
      view.close();
      await expect(waiting.promise).resolves.toBeUndefined();
    });
  });

  describe('routingChange', () => {
    it('resolves when routing changes, before its timeout', async () => {
      source.publish(topology(10n));
      view = new RoutingView(source);
      const events: string[] = [];
      void view.routingChange(1_000).then(() => events.push('routingChange resolved'));
      await elapse(10);
      events.push('failover published');
      source.publish(failover(11n));
      await elapse(0);
      events.push('after the promise jobs');
      expect(events).toEqual(['failover published', 'routingChange resolved', 'after the promise jobs']);
    });

    it('does not resolve on a revision that changes no route, only by its timeout', async () => {
      source.publish(topology(10n));
      view = new RoutingView(source);
      const events: string[] = [];
      void view.routingChange(1_000).then(() => events.push('routingChange resolved'));
      source.publish(renewal(11n));
      events.push('lease renewal published');
      await elapse(999);
      events.push('999 ms passed');
      await elapse(1);
      expect(events).toEqual(['lease renewal published', '999 ms passed', 'routingChange resolved']);
      expect(view.current()?.revision).toBe(11n);
    });

    it('wakes every waiter on one change, and a later wait waits for the next change', async () => {
      source.publish(topology(10n));
      view = new RoutingView(source);
      const first = observe(view.routingChange(60_000));
      const second = observe(view.routingChange(60_000));
      source.publish(failover(11n));
      await elapse(0);
      expect([first.outcome, second.outcome]).toEqual(['resolved', 'resolved']);
      const third = observe(view.routingChange(60_000));
      // replica-2's lease renewed: still the same routes.
      source.publish(topology(12n, { primary: 'replica-2', epoch: 2n, leaseRevision: 12n }));
      await elapse(0);
      expect(third.outcome).toBe('pending');
      source.publish(topology(13n, { primary: 'replica-1', epoch: 3n }));
      await elapse(0);
      expect(third.outcome).toBe('resolved');
    });

    it('resolves at once when the timeout is not positive or the view is closed', async () => {
      view = new RoutingView(source);
      const zero = observe(view.routingChange(0));
      const pendingAtClose = observe(view.routingChange(60_000));
      view.close();
      const afterClose = observe(view.routingChange(60_000));
      await elapse(0);
      expect([zero.outcome, pendingAtClose.outcome, afterClose.outcome]).toEqual(['resolved', 'resolved', 'resolved']);
    });
  });

  describe('onRoutingChange', () => {
    it('calls each listener with every table that changes routing, until removed', () => {
      view = new RoutingView(source);
      const seen: bigint[] = [];
      const alsoSeen: RoutingTable[] = [];
      const stop = view.onRoutingChange((table) => seen.push(table.revision));
      view.onRoutingChange((table) => alsoSeen.push(table));
      source.publish(topology(10n));
      source.publish(renewal(11n));
      source.publish(failover(12n));
      expect(seen).toEqual([10n, 12n]);
      expect(alsoSeen.map((table) => table.revision)).toEqual([10n, 12n]);
      expect(alsoSeen[1]?.group('group-a')?.primary).toBe('replica-2');

      stop();
      source.publish(topology(13n, { primary: 'replica-1', epoch: 3n }));
      expect(seen).toEqual([10n, 12n]);
      expect(alsoSeen.map((table) => table.revision)).toEqual([10n, 12n, 13n]);
    });
  });

  describe('updates', () => {
    it('ignores a topology at an older or the same revision', () => {
      source.publish(topology(10n));
      view = new RoutingView(source);
      const table = view.current();
      const seen: bigint[] = [];
      view.onRoutingChange((next) => seen.push(next.revision));
      source.publish(failover(9n));
      source.publish(failover(10n));
      expect(view.current()).toBe(table);
      expect(view.current()?.group('group-a')?.primary).toBe('replica-1');
      expect(seen).toEqual([]);
    });

    it('keeps the ring across revisions that leave its version alone', () => {
      source.publish(topology(10n));
      view = new RoutingView(source);
      const ring = view.current()?.ring;
      source.publish(failover(11n));
      expect(view.current()?.revision).toBe(11n);
      expect(view.current()?.ring).toBe(ring);
    });

    it('stops listening to the source on close', () => {
      view = new RoutingView(source);
      expect(source.listenerCount).toBe(1);
      view.close();
      expect(source.listenerCount).toBe(0);
      source.publish(topology(10n));
      expect(view.current()).toBeUndefined();
    });
  });
});
