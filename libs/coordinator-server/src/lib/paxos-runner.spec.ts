// The runner around the Paxos core, driven by hand: a real PaxosNode and
// PaxosRunner with an injected clock, an in-memory log and a transport that
// records what is sent, so each interleaving is a script.
import { Writable } from 'node:stream';
import { failpoints, parseFailpointSetting } from '@bulwark/failpoints';
import { createLogger } from '@bulwark/logging';
import {
  defaultPaxosSettings,
  emptyDurableState,
  PaxosNode,
  type Ballot,
  type DurableState,
  type Entry,
  type Message,
  type PersistBatch,
  type Snapshot,
} from '@bulwark/paxos';
import { MemoryStorage } from '@bulwark/paxos/testing';
import { PaxosRunner, type ReplicatedStateMachine } from './paxos-runner';

const tickMs = 10;
const members = ['a', 'b', 'c'];
const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
const bytes = (value: string) => new TextEncoder().encode(value);

/** The state machine: the list of applied commands (no-ops skipped). */
class AppliedCommands implements ReplicatedStateMachine<number> {
  readonly commands: string[] = [];
  apply(entry: Entry): number {
    if (entry.command.byteLength > 0) this.commands.push(text(entry.command));
    return this.commands.length;
  }
  restore(snapshot: Snapshot): void {
    this.commands.splice(0, this.commands.length, ...(JSON.parse(text(snapshot.data)) as string[]));
  }
  snapshot(): Uint8Array {
    return bytes(JSON.stringify(this.commands));
  }
}

/**
 * Records writes and sends in one timeline, so their order can be asserted.
 * Writes complete at once, or when the test says (holdWrites).
 */
class Timeline {
  readonly events: Array<{ kind: 'append'; batch: PersistBatch } | { kind: 'send'; message: Message }> = [];
  readonly storage = new MemoryStorage();
  holdWrites = false;
  private readonly held: Array<() => void> = [];
  appendAsync(batch: PersistBatch): Promise<void> {
    this.events.push({ kind: 'append', batch });
    return new Promise((resolve) => {
      const complete = () => {
        this.storage.apply(batch);
        resolve();
      };
      if (this.holdWrites) this.held.push(complete);
      else complete();
    });
  }
  completeWrites(): void {
    for (const complete of this.held.splice(0)) complete();
  }
  send(messages: readonly Message[]): void {
    for (const message of messages) this.events.push({ kind: 'send', message });
  }
  sent<T extends Message['type']>(type: T): Array<Extract<Message, { type: T }>> {
    return this.events.flatMap((event) =>
      event.kind === 'send' && event.message.type === type ? [event.message as Extract<Message, { type: T }>] : [],
    );
  }
}

function startRunner(durable: DurableState = emptyDurableState, fatal: (error: unknown) => void = () => {}) {
  let nowMs = 0;
  const timeline = new Timeline();
  const machine = new AppliedCommands();
  const runner = new PaxosRunner<number>({
    node: new PaxosNode('a', members, defaultPaxosSettings, durable, () => 0),
    storage: timeline,
    transport: timeline,
    machine,
    logger: createLogger({
      service: 'test',
      memberId: 'a',
      level: 'fatal',
      destination: new Writable({ write: (_c, _e, done) => done() }),
    }),
    tickMs,
    compactAfterEntries: 10_000,
    proposalTimeoutMs: 60_000,
    addresses: new Map(),
    onFatal: fatal,
    clockMs: () => nowMs,
  });
  const advanceMs = (ms: number) => {
    nowMs += ms;
    runner.syncTicks();
  };
  return { runner, timeline, machine, advanceMs };
}

/** Lets the runner's scheduled processing (setImmediate) run. */
const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Makes 'a' leader with b's help; b reports `accepted` from an older ballot. */
async function electA(
  setup: ReturnType<typeof startRunner>,
  accepted: Array<{ slot: bigint; ballot: Ballot; command: Uint8Array }> = [],
): Promise<Ballot> {
  const { runner, timeline, advanceMs } = setup;
  advanceMs(defaultPaxosSettings.electionTimeoutMaxTicks * tickMs);
  const preVote = timeline.sent('preVote').find((message) => message.to === 'b');
  expect(preVote).toBeDefined();
  runner.receive({ type: 'preVoteReply', from: 'b', to: 'a', round: preVote!.round, granted: true });
  await nextTurn();
  const prepare = timeline.sent('prepare').find((message) => message.to === 'b');
  expect(prepare).toBeDefined();
  runner.receive({
    type: 'promise',
    from: 'b',
    to: 'a',
    ballot: prepare!.ballot,
    accepted,
    commitSlot: 0n,
    logStart: 1n,
  });
  await nextTurn();
  expect(runner.node.role).toBe('leader');
  return prepare!.ballot;
}

describe('PaxosRunner', () => {
  it('refuses a local read until the new leader has APPLIED what it recovered, not merely committed it', async () => {
    const setup = startRunner();
    const { runner, timeline, machine } = setup;
    // b accepted a write the old leader acknowledged; a must recover it at slot 1.
    const oldBallot: Ballot = { round: 1n, nodeId: 'c' };
    const ballot = await electA(setup, [{ slot: 1n, ballot: oldBallot, command: bytes('acknowledged') }]);
    const heartbeat = timeline.sent('heartbeat').find((message) => message.to === 'b');
    const slots = timeline
      .sent('accept')
      .find((message) => message.to === 'b')!
      .entries.map((entry) => entry.slot);
    expect(slots).toEqual([1n, 2n]);
    // One peer batch: b's accepts (slot 1 and the barrier) and its heartbeat reply arrive in one turn.
    runner.receive({ type: 'accepted', from: 'b', to: 'a', ballot, slots });
    runner.receive({
      type: 'heartbeatReply',
      from: 'b',
      to: 'a',
      ballot,
      sentTick: heartbeat!.sentTick,
      commitSlot: 0n,
    });
    // Committed and under lease, but nothing applied yet: a read now would miss "acknowledged".
    expect(runner.node.commitSlot).toBe(2n);
    expect(runner.node.hasLease()).toBe(true);
    expect(machine.commands).toEqual([]);
    expect(runner.canReadLocally()).toBe(false);
    await nextTurn();
    expect(machine.commands).toEqual(['acknowledged']);
    expect(runner.canReadLocally()).toBe(true);
  });

  it('sends what depends on a write only once it is durable, and proposals while it is in flight', async () => {
    const setup = startRunner();
    const { runner, timeline, advanceMs } = setup;
    timeline.holdWrites = true;
    advanceMs(defaultPaxosSettings.electionTimeoutMaxTicks * tickMs);
    const preVote = timeline.sent('preVote').find((message) => message.to === 'b')!;
    runner.receive({ type: 'preVoteReply', from: 'b', to: 'a', round: preVote.round, granted: true });
    await nextTurn();
    // The promise of its new ballot is being written: no Prepare may leave before it is durable.
    expect(timeline.events.some((event) => event.kind === 'append' && event.batch.promised)).toBe(true);
    expect(timeline.sent('prepare')).toEqual([]);
    timeline.completeWrites();
    await nextTurn();
    const prepare = timeline.sent('prepare').find((message) => message.to === 'b')!;
    expect(prepare).toBeDefined();
    runner.receive({
      type: 'promise',
      from: 'b',
      to: 'a',
      ballot: prepare.ballot,
      accepted: [],
      commitSlot: 0n,
      logStart: 1n,
    });
    await nextTurn();
    expect(runner.node.role).toBe('leader');
    // Its barrier proposal went out while its own accept is still being written.
    expect(timeline.sent('accept').length).toBeGreaterThan(0);
    const result = runner.propose(bytes('x'));
    await nextTurn();
    timeline.completeWrites();
    await nextTurn();
    // x's proposal is out while the leader's write of it is still held.
    const slots = [
      ...new Set(timeline.sent('accept').flatMap((message) => message.entries.map((entry) => entry.slot))),
    ];
    expect(slots).toEqual([1n, 2n]);
    runner.receive({ type: 'accepted', from: 'b', to: 'a', ballot: prepare.ballot, slots });
    await nextTurn();
    // b's vote alone is not a majority: x waits for the leader's own write.
    expect(runner.node.commitSlot).toBe(1n);
    timeline.completeWrites();
    await nextTurn();
    expect(runner.node.commitSlot).toBe(2n);
    timeline.completeWrites();
    await expect(result).resolves.toBe(1);
  });

  it('answers a proposal whose slot another value took as not applied, a follower as not the leader, a stopped runner as unavailable', async () => {
    const setup = startRunner();
    const { runner } = setup;
    await electA(setup);
    const lost = runner.propose(bytes('mine'));
    await nextTurn();
    // A higher ballot chose something else at that slot: the leader learns it and steps down.
    runner.receive({
      type: 'catchUp',
      from: 'b',
      to: 'a',
      ballot: { round: 99n, nodeId: 'b' },
      entries: [
        { slot: 1n, command: new Uint8Array(0) },
        { slot: 2n, command: bytes('theirs') },
      ],
    });
    await expect(lost).rejects.toMatchObject({ kind: 'unavailable' });
    expect(runner.node.role).toBe('follower');
    const pending = runner.propose(bytes('late'));
    await expect(pending).rejects.toMatchObject({ kind: 'not-leader' });
    runner.stop();
    await expect(runner.propose(bytes('after stop'))).rejects.toMatchObject({ kind: 'unavailable' });
  });

  it('stops, reporting the error, when a batch cannot be made durable', async () => {
    let fatal: unknown;
    const setup = startRunner(emptyDurableState, (error) => (fatal = error));
    setup.timeline.appendAsync = () => Promise.reject(new Error('EIO: disk failed'));
    setup.advanceMs(defaultPaxosSettings.electionTimeoutMaxTicks * tickMs);
    setup.runner.receive({ type: 'preVoteReply', from: 'b', to: 'a', round: 1n, granted: true });
    await nextTurn();
    expect(String(fatal)).toContain('EIO');
    // Nothing that depended on the lost write went out.
    expect(setup.timeline.sent('prepare')).toEqual([]);
  });

  it('passes its failpoints when a Ready applies, writes and then sends', async () => {
    const points = ['paxos.ready.beforeApply', 'paxos.ready.beforePersist', 'paxos.ready.beforeSend'] as const;
    // sleep(0): passed and counted, nothing else.
    for (const name of points) failpoints.set(parseFailpointSetting('coordinator', name, 'sleep(0)'));
    try {
      const setup = startRunner();
      const { runner, timeline, machine } = setup;
      const ballot = await electA(setup);
      const accept = timeline.sent('accept').find((message) => message.to === 'b')!;
      runner.receive({
        type: 'accepted',
        from: 'b',
        to: 'a',
        ballot,
        slots: accept.entries.map((entry) => entry.slot),
      });
      await nextTurn();
      expect(runner.node.appliedSlot).toBeGreaterThan(0n);
      expect(machine.commands).toEqual([]);
      for (const state of failpoints.list([...points]))
        expect([state.name, state.fired > 0]).toEqual([state.name, true]);
      runner.stop();
    } finally {
      for (const name of points) failpoints.set({ name, spec: undefined });
    }
  });
});
