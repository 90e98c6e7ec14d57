// PlaceRenewal in simulated time (jest's fake timers), over a quorum whose
// renewals come back only when the test answers them.
import type { Grant, LockQuorum, QueuePlace } from '@bulwark/lock-core';
import { PlaceRenewal } from './place-renewal';

const leaseMs = 3_000;
const queued: QueuePlace = { ticket: 7n, first: false, free: false, claimAttempt: 'q.1', handed: undefined };

/** Renewals sent, each with the simulated time it began, answered by the test. */
function renewalsOver() {
  const sent: Array<{ atMs: number; answer: (place: QueuePlace) => void; fail: (error: Error) => void }> = [];
  const quorum = {
    enqueue: () => new Promise<QueuePlace>((answer, fail) => sent.push({ atMs: performance.now(), answer, fail })),
  } as unknown as LockQuorum;
  const told: Array<QueuePlace | Error> = [];
  const renewal = new PlaceRenewal({
    quorum,
    name: 'a',
    waiterId: 'w-bob',
    ticket: 7n,
    claim: { owner: 'bob', ttlMs: 10_000 },
    leaseMs,
    nowMs: () => performance.now(),
    onRenewed: (place) => told.push(place),
    onFailed: (error) => told.push(error as Error),
  });
  return { sent, told, renewal };
}

describe('PlaceRenewal', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('renews every third of the lease, and after a slow renewal as soon as it comes back, never two at once', async () => {
    const { sent, told, renewal } = renewalsOver();
    const startMs = performance.now();
    renewal.start();
    await jest.advanceTimersByTimeAsync(999);
    expect(sent).toHaveLength(0);
    await jest.advanceTimersByTimeAsync(1);
    expect(sent.map(({ atMs }) => atMs - startMs)).toEqual([1_000]);
    // It hangs for 2.5 s: nothing else is sent meanwhile, and the next goes as soon as it comes back.
    await jest.advanceTimersByTimeAsync(2_500);
    expect(sent).toHaveLength(1);
    sent[0]?.answer(queued);
    await jest.advanceTimersByTimeAsync(0);
    expect(sent.map(({ atMs }) => atMs - startMs)).toEqual([1_000, 3_500]);
    sent[1]?.answer(queued);
    await jest.advanceTimersByTimeAsync(1_000);
    expect(sent.map(({ atMs }) => atMs - startMs)).toEqual([1_000, 3_500, 4_500]);
    expect(told).toEqual([queued, queued]);
    renewal.stop();
  });

  it('pauses after a renewal that found a handover, and goes on at once on renewNow', async () => {
    const { sent, told, renewal } = renewalsOver();
    const handed: Grant = { token: 2n, attempt: 'q.1', validUntilMs: 10_000 };
    renewal.start();
    await jest.advanceTimersByTimeAsync(1_000);
    sent[0]?.answer({ ...queued, handed });
    await jest.advanceTimersByTimeAsync(10_000);
    expect(sent).toHaveLength(1);
    expect(told).toEqual([{ ...queued, handed }]);
    renewal.renewNow();
    expect(sent).toHaveLength(2);
    renewal.stop();
  });

  it('tells nothing of a renewal that comes back after a pause, and stops after one that failed', async () => {
    const { sent, told, renewal } = renewalsOver();
    renewal.start();
    await jest.advanceTimersByTimeAsync(1_000);
    renewal.pause();
    sent[0]?.answer(queued);
    await jest.advanceTimersByTimeAsync(10_000);
    expect({ sent: sent.length, told }).toEqual({ sent: 1, told: [] });
    renewal.renewNow();
    await jest.advanceTimersByTimeAsync(0);
    const failure = new Error('only 1 of 3 lock servers answered');
    sent[1]?.fail(failure);
    await jest.advanceTimersByTimeAsync(10_000);
    expect({ sent: sent.length, told }).toEqual({ sent: 2, told: [failure] });
    renewal.renewNow();
    await jest.advanceTimersByTimeAsync(10_000);
    expect(sent).toHaveLength(2);
  });
});
