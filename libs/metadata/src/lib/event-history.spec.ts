import { EventHistory } from './event-history';
import { eventHistoryMax } from './limits';
import type { TopologyEvent } from './types';

const deleted = (revision: bigint, groupId = `g${revision}`): TopologyEvent => ({
  revision,
  change: { type: 'groupDeleted', groupId },
});

function historyWith(startRevision: bigint, revisions: number, eventsMax?: number): EventHistory {
  const history = new EventHistory(startRevision, eventsMax);
  for (let offset = 1n; offset <= BigInt(revisions); offset++) history.append([deleted(startRevision + offset)]);
  return history;
}

describe('EventHistory', () => {
  it('starts at a revision: nothing after it yet, and nothing before it to resume from', () => {
    const history = new EventHistory(40n);
    expect(history.eventsSince(40n)).toEqual({ type: 'events', events: [] });
    expect(history.eventsSince(39n)).toEqual({ type: 'compacted', oldestRevision: 40n });
    expect(history.oldestRevision).toBe(40n);
  });

  it('returns the events after a revision, in order; none for a revision not reached yet', () => {
    const history = historyWith(40n, 5);
    expect(history.eventsSince(42n)).toEqual({ type: 'events', events: [deleted(43n), deleted(44n), deleted(45n)] });
    expect(history.eventsSince(40n)).toMatchObject({ type: 'events', events: { length: 5 } });
    expect(history.eventsSince(45n)).toEqual({ type: 'events', events: [] });
    expect(history.eventsSince(99n)).toEqual({ type: 'events', events: [] });
  });

  it('keeps at most eventsMax events, dropping the oldest revisions', () => {
    const history = historyWith(0n, 5, 3);
    expect(history.size).toBe(3);
    expect(history.oldestRevision).toBe(2n);
    expect(history.eventsSince(1n)).toEqual({ type: 'compacted', oldestRevision: 2n });
    expect(history.eventsSince(2n)).toEqual({ type: 'events', events: [deleted(3n), deleted(4n), deleted(5n)] });
  });

  it(`keeps eventHistoryMax (${eventHistoryMax}) events by default`, () => {
    const history = historyWith(0n, eventHistoryMax + 1);
    expect(history.size).toBe(eventHistoryMax);
    expect(history.oldestRevision).toBe(1n);
    expect(history.eventsSince(0n).type).toBe('compacted');
    expect(history.eventsSince(1n)).toMatchObject({ type: 'events', events: { length: eventHistoryMax } });
  });

  it('stays correct over many times its bound', () => {
    const history = historyWith(0n, 35, 4);
    expect(history.eventsSince(31n)).toEqual({
      type: 'events',
      events: [deleted(32n), deleted(33n), deleted(34n), deleted(35n)],
    });
    expect(history.eventsSince(30n).type).toBe('compacted');
  });

  it('drops a revision whole, so a watcher never gets part of one', () => {
    const history = new EventHistory(0n, 3);
    history.append([deleted(1n, 'a'), deleted(1n, 'b')]);
    history.append([deleted(2n, 'c'), deleted(2n, 'd')]);
    expect(history.size).toBe(2);
    expect(history.eventsSince(0n)).toEqual({ type: 'compacted', oldestRevision: 1n });
    expect(history.eventsSince(1n)).toEqual({ type: 'events', events: [deleted(2n, 'c'), deleted(2n, 'd')] });
    history.append([deleted(3n, 'e'), deleted(3n, 'f'), deleted(3n, 'g'), deleted(3n, 'h')]);
    expect(history.size).toBe(0);
    expect(history.eventsSince(2n)).toEqual({ type: 'compacted', oldestRevision: 3n });
    expect(history.eventsSince(3n)).toEqual({ type: 'events', events: [] });
  });

  it('refuses events that do not all carry one revision after the last', () => {
    const history = historyWith(0n, 2);
    expect(() => history.append([deleted(2n)])).toThrow(RangeError);
    expect(() => history.append([deleted(3n), deleted(4n)])).toThrow(RangeError);
    history.append([]);
    expect(history.size).toBe(2);
  });

  it('refuses a bound below 1', () => {
    expect(() => new EventHistory(0n, 0)).toThrow(RangeError);
  });
});
