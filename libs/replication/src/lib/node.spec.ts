// Scenarios a reader can follow, driven by hand: which message arrives,
// which is lost, when the coordinator changes its record.
import { ManualGroup, type NodeFactory } from '../testing/manual-group';
import { MutantReplicaNode } from '../testing/mutant-node';
import type { ReplicationMessage } from './messages';
import { defaultReplicationSettings, type ReplicationSettings } from './settings';

const settings: ReplicationSettings = { ...defaultReplicationSettings, batchEntriesMax: 1, windowEntriesMax: 8 };

function startedGroup(ids: string[], factory?: NodeFactory): ManualGroup {
  const group = new ManualGroup(ids, settings, factory);
  group.setView({});
  group.grantLease(ids[0] as string);
  group.deliver();
  return group;
}

function sequenceOf(result: ReturnType<ManualGroup['put']>): bigint {
  if (!result.ok) throw new Error(`write refused: ${result.reason}`);
  return result.sequence;
}

const touches = (id: string) => (message: ReplicationMessage) => message.to === id || message.from === id;

describe('ReplicaNode', () => {
  it('commits a sync write only once every in-sync member has it on disk', () => {
    const group = startedGroup(['r1', 'r2', 'r3']);
    expect(group.node('r1').role).toBe('primary');
    expect(group.node('r1').canReadStrongly(group.nowMs)).toBe(true);

    const sequence = sequenceOf(group.put('r1', 'k', 'v1'));
    group.deliver((message) => !touches('r3')(message), touches('r3'));
    expect(group.member('r1').acknowledged).not.toContain(sequence);

    group.advanceTime(settings.resendAfterMs);
    group.deliver();
    expect(group.member('r1').acknowledged).toContain(sequence);
    // Backups apply what the primary's next batch or heartbeat says is committed.
    group.advanceTime(settings.heartbeatIntervalMs);
    group.deliver();
    for (const id of ['r1', 'r2', 'r3']) expect(group.member(id).machine.get('k')).toBe('v1');
  });

  it('does not count time it did not run against its backups, whose answers still wait unread', () => {
    const group = startedGroup(['r1', 'r2', 'r3']);
    const sequence = sequenceOf(group.put('r1', 'k', 'v1'));
    // The batches reach the backups; their acks wait in r1's socket while r1 is paused, past the ack timeout.
    group.deliver((message) => message.from === 'r1');
    group.nowMs += settings.ackTimeoutMs + 10;
    group.node('r1').resumedAfterPause(settings.ackTimeoutMs + 10);
    group.advanceTime(0);
    expect(group.node('r1').holdsLease(group.nowMs)).toBe(true);
    expect(group.member('r1').coordinatorRequests.filter((request) => request.type === 'updateInSync')).toEqual([]);
    group.deliver();
    expect(group.member('r1').acknowledged).toContain(sequence);

    // Only the pause is forgiven: a backup silent for the ack timeout after it is dropped.
    const next = sequenceOf(group.put('r1', 'k', 'v2'));
    group.deliver((message) => !touches('r3')(message), touches('r3'));
    group.advanceTime(settings.ackTimeoutMs + 1);
    expect(group.member('r1').coordinatorRequests).toContainEqual(
      expect.objectContaining({ type: 'updateInSync', inSync: ['r1', 'r2'] }),
    );
    expect(group.member('r1').acknowledged).not.toContain(next);
  });

  it('drops a backup that holds writes back from the in-sync set before acknowledging them', () => {
    const group = startedGroup(['r1', 'r2', 'r3']);
    const sequence = sequenceOf(group.put('r1', 'k', 'v1'));
    group.deliver((message) => !touches('r3')(message), touches('r3'));
    group.advanceTime(settings.ackTimeoutMs + 1);
    expect(group.member('r1').coordinatorRequests).toContainEqual({
      type: 'updateInSync',
      epoch: 1n,
      inSync: ['r1', 'r2'],
      requestId: 'in-sync/r1/1/1',
    });
    expect(group.member('r1').acknowledged).not.toContain(sequence);

    group.setView({ inSync: ['r1', 'r2'] }, ['r1', 'r2']);
    expect(group.member('r1').acknowledged).toContain(sequence);
  });

  it('sends one in-sync proposal under one request id, however often, and the next under another', () => {
    const group = startedGroup(['r1', 'r2', 'r3']);
    sequenceOf(group.put('r1', 'k', 'v1'));
    group.deliver((message) => !touches('r3')(message), touches('r3'));
    group.advanceTime(settings.ackTimeoutMs + 1);
    // Unanswered: sent again, under the same id, a delayed copy of which could never apply it twice.
    group.advanceTime(settings.coordinatorRetryMs);
    group.advanceTime(settings.coordinatorRetryMs);
    const proposals = () =>
      group.member('r1').coordinatorRequests.flatMap((request) => (request.type === 'updateInSync' ? [request] : []));
    expect(proposals().map(({ inSync, requestId }) => [inSync.join(','), requestId])).toEqual([
      ['r1,r2', 'in-sync/r1/1/1'],
      ['r1,r2', 'in-sync/r1/1/1'],
      ['r1,r2', 'in-sync/r1/1/1'],
    ]);
    group.setView({ inSync: ['r1', 'r2'] }, ['r1']);
    // r3 catches up and is proposed back: a new proposal, a new id.
    group.deliver();
    group.advanceTime(settings.heartbeatIntervalMs);
    group.deliver();
    expect(proposals().at(-1)).toMatchObject({ inSync: ['r1', 'r2', 'r3'], requestId: 'in-sync/r1/1/2' });
  });

  describe('a late view of its epoch', () => {
    // r3 is dropped and then added back (revisions 2 and 3); the watch event
    // of revision 2 arrives last. Taken as the record, r1 would commit
    // without r3, which the coordinators may make the next primary.
    function scenario(factory?: NodeFactory): { group: ManualGroup; sequence: bigint } {
      const group = startedGroup(['r1', 'r2', 'r3'], factory);
      sequenceOf(group.put('r1', 'k', 'w1'));
      group.deliver((message) => !touches('r3')(message), touches('r3'));
      group.advanceTime(settings.ackTimeoutMs + 1);
      group.setView({ inSync: ['r1', 'r2'] }, ['r1']);
      const dropped = group.currentView;
      group.deliver();
      group.advanceTime(settings.heartbeatIntervalMs);
      group.deliver();
      expect(group.member('r1').coordinatorRequests).toContainEqual({
        type: 'updateInSync',
        epoch: 1n,
        inSync: ['r1', 'r2', 'r3'],
        requestId: 'in-sync/r1/1/2',
      });
      group.setView({ inSync: ['r1', 'r2', 'r3'] }, ['r1']);
      const sequence = sequenceOf(group.put('r1', 'k', 'w2'));
      group.deliver((message) => !touches('r3')(message), touches('r3'));
      expect(group.member('r1').acknowledged).not.toContain(sequence);
      group.node('r1').observeView(dropped);
      group.flush();
      return { group, sequence };
    }

    it('is ignored: a member added back stays counted', () => {
      const { group, sequence } = scenario();
      expect(group.node('r1').view?.inSync).toEqual(['r1', 'r2', 'r3']);
      expect(group.member('r1').acknowledged).not.toContain(sequence);
      expect(
        group
          .node('r1')
          .backupLag()
          .find((lag) => lag.memberId === 'r3')?.inSync,
      ).toBe(true);
    });

    it('is caught when the revision check is planted out', () => {
      const factory: NodeFactory = (id, s, storage, nowMs) =>
        new MutantReplicaNode('stale-view', id, s, storage.recover(), nowMs);
      const { group, sequence } = scenario(factory);
      expect(group.member('r1').acknowledged).toContain(sequence);
    });
  });

  it('writes again when re-elected at a new epoch while both backups are silent: it drops them first', () => {
    const group = startedGroup(['r1', 'r2', 'r3']);
    expect(sequenceOf(group.put('r1', 'k', 'v1'))).toBeGreaterThan(0n);
    group.deliver();
    const silent = (message: ReplicationMessage) => touches('r2')(message) || touches('r3')(message);
    // Both backups go silent, r1's lease runs out, and the coordinator fails over to r1 itself.
    group.advanceTime(10_001);
    group.deliver(() => false, silent);
    group.setView({ epoch: 2n, primary: 'r1' }, ['r1']);
    group.grantLease('r1');
    for (let step = 0; step < 20; step++) {
      group.advanceTime(100);
      group.deliver(() => false, silent);
      for (const request of group.member('r1').coordinatorRequests.splice(0)) {
        if (request.type === 'updateInSync') group.setView({ inSync: request.inSync }, ['r1']);
      }
    }
    expect(group.currentView.inSync).toEqual(['r1']);
    const sequence = sequenceOf(group.put('r1', 'k', 'v2'));
    group.deliver(() => false, silent);
    expect(group.member('r1').acknowledged).toContain(sequence);
  });

  it('asks for its lease every leaseRequestRetryMs until granted, then renews a third of the way into each lease', () => {
    const group = new ManualGroup(['r1', 'r2', 'r3'], settings);
    group.setView({});
    const renewals = () =>
      group.member('r1').coordinatorRequests.filter((request) => request.type === 'renewLease').length;
    const asked = renewals();
    group.advanceTime(settings.leaseRequestRetryMs);
    expect(renewals()).toBe(asked + 1);

    group.grantLease('r1', 600);
    const granted = renewals();
    for (let step = 0; step < 19; step++) group.advanceTime(10);
    expect(renewals()).toBe(granted);
    group.advanceTime(10);
    expect(renewals()).toBe(granted + 1);
  });

  it('sends a batch again to a backup that has gone silent, never to one that answers slowly', () => {
    const group = startedGroup(['r1', 'r2', 'r3']);
    const w1 = sequenceOf(group.put('r1', 'k', 'w1'));
    const first = group.pending.find(
      (message) => message.type === 'append' && message.to === 'r2' && message.entries.some((e) => e.sequence === w1),
    );
    group.deliver();
    const w2 = sequenceOf(group.put('r1', 'k', 'w2'));
    const sendsOfW2 = () =>
      group.pending.filter(
        (message) => message.type === 'append' && message.to === 'r2' && message.entries.some((e) => e.sequence === w2),
      ).length;
    const toR2 = (message: ReplicationMessage) => message.to === 'r2';
    // r2 is slow: what r1 sends it waits, while it answers (a late copy of w1's batch) every 100 ms.
    for (let step = 0; step < 5; step++) {
      group.advanceTime(100);
      group.pending.push(first as ReplicationMessage);
      group.deliver((message) => message === first || !toR2(message));
    }
    expect(sendsOfW2()).toBe(1);
    // Silent (nothing delivered either way) past resendAfterMs: w2 goes again.
    group.advanceTime(settings.resendAfterMs);
    expect(sendsOfW2()).toBe(2);
  });

  it('probes a backup once after a gap, however many batches in flight it answers with its state', () => {
    const group = startedGroup(['r1', 'r2', 'r3']);
    const writes = ['w1', 'w2', 'w3', 'w4'].map((value) => sequenceOf(group.put('r1', 'k', value)));
    const first = writes[0] as bigint;
    const carries = (sequence: bigint) => (message: ReplicationMessage) =>
      message.type === 'append' && message.to === 'r2' && message.entries.some((entry) => entry.sequence === sequence);
    // The batch of w1 is lost; those of w2..w4 arrive, one at a time, each answered with r2's state.
    group.pending = group.pending.filter((message) => !carries(first)(message));
    for (const sequence of writes.slice(1)) {
      group.deliver(
        (message) => carries(sequence)(message) || (message.type === 'backupState' && message.from === 'r2'),
      );
    }
    expect(group.pending.filter(carries(first))).toHaveLength(1);
    group.deliver();
    group.advanceTime(settings.heartbeatIntervalMs);
    group.deliver();
    expect(group.node('r2').lastSequence).toBe(writes[3]);
  });

  it('refuses writes and STRONG reads once it learns of a later epoch', () => {
    const group = startedGroup(['r1', 'r2', 'r3']);
    group.setView({ epoch: 2n, primary: 'r2', inSync: ['r2', 'r3'] }, ['r1']);
    expect(group.node('r1').role).toBe('backup');
    expect(group.node('r1').canReadStrongly(group.nowMs)).toBe(false);
    expect(group.put('r1', 'k', 'late')).toEqual({ ok: false, reason: 'not-primary', primary: 'r2' });
  });

  it('answers an older epoch with StaleEpoch, so a deposed primary commits nothing', () => {
    const group = startedGroup(['r1', 'r2', 'r3']);
    group.setView({ epoch: 2n, primary: 'r2', inSync: ['r2', 'r3'] }, ['r2', 'r3']);
    group.grantLease('r2');
    group.deliver((message) => message.from !== 'r1' && message.to !== 'r1');
    const sequence = sequenceOf(group.put('r1', 'k', 'deposed'));
    group.deliver();
    expect(group.member('r1').acknowledged).not.toContain(sequence);
    expect(group.node('r1').role).toBe('backup');
    expect(group.node('r1').epoch).toBe(2n);
  });

  it("truncates a returning primary's unacknowledged suffix, and every member converges", () => {
    const group = startedGroup(['r1', 'r2', 'r3']);
    const kept = sequenceOf(group.put('r1', 'k', 'kept'));
    group.deliver();
    // r1's next writes reach nobody; r1 is then replaced.
    sequenceOf(group.put('r1', 'k', 'lost-1'));
    sequenceOf(group.put('r1', 'k', 'lost-2'));
    group.pending = [];
    expect(group.node('r1').lastSequence).toBe(kept + 2n);

    group.setView({ epoch: 2n, primary: 'r2', inSync: ['r2', 'r3'] }, ['r2', 'r3']);
    group.grantLease('r2');
    group.deliver(() => true, touches('r1'));
    const after = sequenceOf(group.put('r2', 'k', 'new'));
    group.deliver(() => true, touches('r1'));
    expect(group.member('r2').acknowledged).toContain(after);

    group.restart('r1');
    group.setView({}, ['r1']);
    group.advanceTime(settings.resendAfterMs);
    group.deliver();
    expect(group.log('r1').map((entry) => `${entry.sequence}@${entry.epoch}`)).toEqual(
      group.log('r2').map((entry) => `${entry.sequence}@${entry.epoch}`),
    );
    group.advanceTime(settings.heartbeatIntervalMs);
    group.deliver();
    const digests = ['r1', 'r2', 'r3'].map((id) => group.member(id).machine.digest());
    expect(new Set(digests).size).toBe(1);
    expect(group.member('r1').machine.get('k')).toBe('new');
  });

  it('never leads the same epoch twice: a restarted primary waits for a new one', () => {
    const group = startedGroup(['r1', 'r2', 'r3']);
    group.restart('r1');
    group.setView({}, ['r1']);
    expect(group.node('r1').role).toBe('backup');
    expect(group.node('r1').ledEpoch).toBe(1n);
    group.setView({ epoch: 2n }, ['r1']);
    expect(group.node('r1').role).not.toBe('backup');
  });

  it('ignores a stale duplicate batch instead of truncating entries of its own epoch', () => {
    const group = startedGroup(['r1', 'r2']);
    sequenceOf(group.put('r1', 'k', 'v1'));
    const firstBatch = group.pending.find((message) => message.type === 'append' && message.entries.length > 0);
    group.deliver();
    const last = sequenceOf(group.put('r1', 'k', 'v2'));
    group.deliver();
    if (!firstBatch) throw new Error('no batch was sent');
    group.node('r2').step(firstBatch);
    group.flush();
    expect(group.node('r2').lastSequence).toBe(last);
  });

  describe('joining the in-sync set', () => {
    // r3 falls behind and is dropped; r1 acknowledges w2 with r2 and r4 and
    // dies before r2 hears that w2 committed. r2 leads epoch 2 knowing a
    // commit point short of w2; r4 (in sync) is slow. r3 acknowledges w1,
    // which reaches r2's commit point, but lacks the acknowledged w2: it
    // must not join the in-sync set (a later failover could choose it)
    // until an entry of epoch 2 has committed.
    function scenario(factory?: NodeFactory): { group: ManualGroup; acknowledged: bigint } {
      const group = startedGroup(['r1', 'r2', 'r3', 'r4'], factory);
      const w1 = sequenceOf(group.put('r1', 'k', 'w1'));
      group.deliver((message) => !touches('r3')(message), touches('r3'));
      group.advanceTime(settings.ackTimeoutMs + 1);
      group.deliver((message) => !touches('r3')(message), touches('r3'));
      group.setView({ inSync: ['r1', 'r2', 'r4'] }, ['r1', 'r2', 'r4']);
      expect(group.member('r1').acknowledged).toContain(w1);
      const w2 = sequenceOf(group.put('r1', 'k', 'w2'));
      group.deliver(
        (message) =>
          (!touches('r3')(message) && message.type !== 'append') ||
          (message.type === 'append' && message.entries.some((entry) => entry.sequence === w2)),
        touches('r3'),
      );
      expect(group.member('r1').acknowledged).toContain(w2);
      group.pending = [];

      group.setView({ epoch: 2n, primary: 'r2', inSync: ['r2', 'r4'] }, ['r2', 'r3', 'r4']);
      group.grantLease('r2');
      expect(group.node('r2').commitSequence).toBeLessThan(w2);
      group.deliver((message) => message.type === 'hello' || message.type === 'backupState', touches('r1'));
      group.deliver(
        (message) =>
          (message.type === 'append' && message.to === 'r3' && message.entries[0]?.sequence === w1) ||
          (message.type === 'ack' && message.from === 'r3'),
      );
      group.advanceTime(1);
      return { group, acknowledged: w2 };
    }

    function proposalsWith(group: ManualGroup, member: string): number {
      return group
        .member('r2')
        .coordinatorRequests.filter((request) => request.type === 'updateInSync' && request.inSync.includes(member))
        .length;
    }

    it('waits until an entry of its own epoch has committed', () => {
      const { group, acknowledged } = scenario();
      expect(group.node('r3').lastSequence).toBeLessThan(acknowledged);
      expect(proposalsWith(group, 'r3')).toBe(0);
    });

    it('is caught when the wait is planted out', () => {
      const factory: NodeFactory = (id, s, storage, nowMs) =>
        new MutantReplicaNode('add-before-barrier', id, s, storage.recover(), nowMs);
      const { group } = scenario(factory);
      expect(proposalsWith(group, 'r3')).toBe(1);
    });
  });
});

describe('ReplicaNode staleness', () => {
  it('is 0 for a primary under its lease, and for a backup counts from when it last had applied what the primary committed', () => {
    const group = startedGroup(['r1', 'r2']);
    expect(group.node('r1').stalenessMs(group.nowMs)).toBe(0);
    group.advanceTime(settings.heartbeatIntervalMs);
    group.deliver();
    // As of its last ack the primary had when it sent the heartbeat: one heartbeat ago here.
    const freshAsOf = group.nowMs - group.node('r2').stalenessMs(group.nowMs);
    expect(group.nowMs - freshAsOf).toBeLessThanOrEqual(settings.heartbeatIntervalMs);

    // Writes the backup has not applied, and heartbeats it does not hear: its staleness grows.
    sequenceOf(group.put('r1', 'k', 'v1'));
    group.pending = [];
    group.advanceTime(400);
    group.pending = [];
    expect(group.node('r2').stalenessMs(group.nowMs)).toBe(group.nowMs - freshAsOf);
  });

  it('counts a restarted backup fresh again, although its new clock reads less than the old one did', () => {
    const group = new ManualGroup(['r1', 'r2', 'r3'], settings);
    group.setView({});
    group.grantLease('r1', 1_000_000);
    group.deliver();
    sequenceOf(group.put('r1', 'k', 'v1'));
    group.deliver();
    // Minutes of heartbeats, under the lease: r2's ack stamps (microseconds of its clock) grow large.
    for (let round = 0; round < 60; round++) {
      group.advanceTime(10_000);
      group.deliver();
    }
    expect(group.node('r2').stalenessMs(group.clockOf('r2'))).toBeLessThanOrEqual(10_000);
    // A new process with its whole log on disk: its clock (performance.now()) starts near 0.
    group.restart('r2', 100);
    for (let round = 0; round < 4; round++) {
      group.advanceTime(settings.heartbeatIntervalMs);
      group.deliver();
    }
    expect(group.node('r2').appliedSequence).toBe(group.node('r1').commitSequence);
    expect(group.node('r2').stalenessMs(group.clockOf('r2'))).toBeLessThanOrEqual(2 * settings.heartbeatIntervalMs);
  });

  it('counts a backup fresh from when it sent the ack a batch echoes, not from when a late batch arrived', () => {
    const group = startedGroup(['r1', 'r2']);
    for (let round = 0; round < 2; round++) {
      group.advanceTime(settings.heartbeatIntervalMs);
      group.deliver();
    }
    expect(group.node('r2').stalenessMs(group.nowMs)).toBeLessThanOrEqual(settings.heartbeatIntervalMs);
    const toR2 = (message: ReplicationMessage) => message.to === 'r2';
    const dropToR2 = () => (group.pending = group.pending.filter((message) => !toR2(message)));

    // A heartbeat is held in flight: a partition's retransmissions, a queue flushed at reconnection, a pause.
    group.advanceTime(settings.heartbeatIntervalMs);
    const late = group.pending.filter((message) => message.type === 'append' && toR2(message));
    expect(late).toHaveLength(1);
    const heldAt = group.nowMs;
    dropToR2();
    // Meanwhile the primary leaves r2, which hears nothing, out of the in-sync set and acknowledges a write.
    const sequence = sequenceOf(group.put('r1', 'k', 'v1'));
    dropToR2();
    group.advanceTime(settings.ackTimeoutMs + 1);
    dropToR2();
    group.setView({ inSync: ['r1'] }, ['r1']);
    expect(group.member('r1').acknowledged).toContain(sequence);
    group.advanceTime(1_000);
    dropToR2();

    // The held heartbeat arrives over a second later: r2 has applied all it says is committed, which is
    // no fresher than the ack the heartbeat echoes, sent before the heartbeat was held.
    group.pending.push(...late);
    group.deliver((message) => late.includes(message));
    expect(group.node('r2').appliedSequence).toBeLessThan(sequence);
    expect(group.node('r2').stalenessMs(group.nowMs)).toBeGreaterThanOrEqual(group.nowMs - heldAt);
  });
});
