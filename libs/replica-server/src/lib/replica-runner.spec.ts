// Three ReplicaRunners over real cores and in-memory stores, their messages
// carried between them on the event loop and cut at will: the runner passes
// its failpoints, and the planted bug replica.acknowledgeBeforeReplicated
// makes a primary answer a sync write its backups never received, while off
// it does not.
import { performance } from 'node:perf_hooks';
import { Writable } from 'node:stream';
import { failpoints, parseFailpointSetting } from '@bulwark/failpoints';
import { createLogger } from '@bulwark/logging';
import { MemoryReplicaStorage } from '@bulwark/replica-storage/testing';
import {
  defaultReplicationSettings,
  freshReplica,
  ReplicaNode,
  type GroupView,
  type CoordinatorRequest,
  type LogEntry,
  type ReplicationMessage,
} from '@bulwark/replication';
import { testRunnerOptions } from '../testing/runner-options';
import { pauseToleranceMs, ReplicaRunner, type AppliedState, type WriteResult } from './replica-runner';

const members = ['r1', 'r2', 'r3'];
const view: GroupView = { epoch: 1n, primary: 'r1', members, inSync: members, mode: 'sync', revision: 1n };
const logger = createLogger({
  service: 'test',
  memberId: 'test',
  level: 'error',
  destination: new Writable({ write: (_chunk, _encoding, done) => done() }),
});
const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

/** The state machine: the commands applied, in order. */
class AppliedCommands implements AppliedState<number> {
  appliedSequence = 0n;
  commands: string[] = [];
  apply(entry: LogEntry): number {
    this.appliedSequence = entry.sequence;
    if (entry.command.length > 0) this.commands.push(text(entry.command));
    return this.commands.length;
  }
  reset(): void {
    this.appliedSequence = 0n;
    this.commands = [];
  }
  snapshotChunks(): Iterable<Uint8Array> {
    return [new TextEncoder().encode(JSON.stringify(this.commands))];
  }
  restore(chunks: readonly Uint8Array[], lastSequence: bigint): void {
    this.commands = JSON.parse(chunks.map(text).join('')) as string[];
    this.appliedSequence = lastSequence;
  }
}

/** Resolves once `condition` holds, polling; fails after `timeoutMs`. */
async function eventually(condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error('condition not reached in time');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** How a write settled so far. */
function track(write: Promise<WriteResult<number>>) {
  const state: { result?: WriteResult<number>; error?: Error } = {};
  const settled = write.then(
    (result) => (state.result = result),
    (error: Error) => (state.error = error),
  );
  return { state, settled };
}

/** A group of three with r1 as primary; `linked` false cuts r1 off from its backups both ways. */
function startGroup() {
  const runners = new Map<string, ReplicaRunner<number>>();
  const group = { linked: true, runners };
  const deliver = (message: ReplicationMessage) => {
    if (group.linked) runners.get(message.to)?.deliver(message);
  };
  for (const id of members) {
    const runner = new ReplicaRunner<number>(
      // Leases granted, in-sync changes refused: the commit rule keeps counting the backups it cannot reach.
      testRunnerOptions({
        node: new ReplicaNode(id, defaultReplicationSettings, freshReplica, performance.now()),
        storage: new MemoryReplicaStorage(),
        state: new AppliedCommands(),
        // On the next turn of the event loop, as a network would; dropped if cut by then.
        send: (messages) => {
          for (const message of messages) setImmediate(() => deliver(message));
        },
        logger,
      }),
    );
    runners.set(id, runner);
    runner.observeView(view);
    runner.start();
  }
  return group;
}

const command = (value: string) => new TextEncoder().encode(value);

describe('ReplicaRunner and its failpoints', () => {
  let group: ReturnType<typeof startGroup>;
  const runner = (id: string) => group.runners.get(id) as ReplicaRunner<number>;

  beforeEach(async () => {
    group = startGroup();
    // Every member holds the primary's epoch start, and a first write, before the backups are cut off.
    await eventually(() => runner('r1').node.role === 'primary');
    await runner('r1').write(command('before the cut'), undefined);
    await eventually(() => members.every((id) => runner(id).node.lastSequence === runner('r1').node.lastSequence));
  });
  afterEach(async () => {
    for (const one of group.runners.values()) await one.stop();
    for (const { name } of failpoints.list()) failpoints.set({ name, spec: undefined });
  });

  it('off: a sync write is answered only once the in-sync backups have it', async () => {
    group.linked = false;
    const write = track(runner('r1').write(command('held'), undefined));
    await sleep(200);
    expect(write.state).toEqual({});
    group.linked = true;
    await write.settled;
    expect(write.state.result?.outcome).toBe(2);
    const sequence = write.state.result?.sequence as bigint;
    for (const backup of ['r2', 'r3']) expect(runner(backup).node.durableSequence).toBeGreaterThanOrEqual(sequence);
  });

  it('passes its failpoints when a Ready applies, writes and then sends', async () => {
    const points = ['replica.ready.beforeApply', 'replica.ready.beforePersist', 'replica.ready.beforeSend'] as const;
    // sleep(0): passed and counted, nothing else.
    for (const name of points) failpoints.set(parseFailpointSetting('replica', name, 'sleep(0)'));
    expect((await runner('r1').write(command('counted'), undefined)).outcome).toBe(2);
    for (const state of failpoints.list([...points])) expect([state.name, state.fired > 0]).toEqual([state.name, true]);
  });

  it('on: a sync write is answered after the primary fsync alone, its backups never having it', async () => {
    failpoints.set(parseFailpointSetting('replica', 'replica.acknowledgeBeforeReplicated', '1*on'));
    group.linked = false;
    // An async write is answered without the backups anyway: it leaves the count to sync writes.
    await runner('r1').write(command('async anyway'), 'async');
    expect(failpoints.list(['replica.acknowledgeBeforeReplicated'])[0]).toMatchObject({ action: '1*on', fired: 0 });

    const acknowledged = await runner('r1').write(command('acknowledged, not replicated'), undefined);
    expect(acknowledged.outcome).toBe(3);
    for (const backup of ['r2', 'r3']) expect(runner(backup).node.lastSequence).toBeLessThan(acknowledged.sequence);
    expect(failpoints.list(['replica.acknowledgeBeforeReplicated'])[0]).toMatchObject({ action: 'off', fired: 1 });

    // Its count used up, the bug is off again: the next sync write waits for the backups.
    const next = track(runner('r1').write(command('held'), 'sync'));
    await sleep(200);
    expect(next.state).toEqual({});
    group.linked = true;
    await next.settled;
    expect(next.state.result?.outcome).toBe(4);
  });
});

describe('ReplicaRunner lease renewals', () => {
  /** A primary alone, whose coordinator answers renewals as `answer` says (by the call's number, from 1). */
  function lonePrimary(answer: (call: number) => Promise<number | undefined>) {
    let calls = 0;
    const runner = new ReplicaRunner<number>(
      testRunnerOptions(
        {
          node: new ReplicaNode('r1', defaultReplicationSettings, freshReplica, performance.now()),
          storage: new MemoryReplicaStorage(),
          state: new AppliedCommands(),
          send: () => undefined,
          logger,
        },
        { coordinator: { renewLease: () => answer(++calls), updateInSync: async () => undefined } },
      ),
    );
    runner.observeView({ epoch: 1n, primary: 'r1', members: ['r1'], inSync: ['r1'], mode: 'sync', revision: 1n });
    runner.start();
    return { runner, calls: () => calls };
  }

  it('sends the next renewal while one whose answer was lost still waits', async () => {
    const lost = new Promise<undefined>(() => undefined);
    const { runner } = lonePrimary((call) => (call === 1 ? lost : Promise.resolve(300)));
    try {
      await eventually(() => runner.node.holdsLease(performance.now()));
    } finally {
      await runner.stop();
    }
  });

  it('has two renewals in flight at most', async () => {
    const answers: ((leaseMs: undefined) => void)[] = [];
    const { runner, calls } = lonePrimary(() => new Promise((resolve) => answers.push(resolve)));
    try {
      await eventually(() => calls() === 2);
      // leaseRequestRetryMs is 100: two more asks would have gone out by now.
      await sleep(250);
      expect(calls()).toBe(2);
      answers[0]?.(undefined);
      await eventually(() => calls() === 3);
    } finally {
      for (const resolve of answers) resolve(undefined);
      await runner.stop();
    }
  });
});

describe('ReplicaRunner lease renewals while two are in flight', () => {
  it('sends the renewal the core asked for meanwhile as soon as one of them ends', async () => {
    const answers: ((leaseMs: undefined) => void)[] = [];
    let calls = 0;
    /** A core that counts the renewals it asks for. */
    class AskCountingNode extends ReplicaNode {
      renewalsAsked = 0;
      override takeCoordinatorRequests(): CoordinatorRequest[] {
        const requests = super.takeCoordinatorRequests();
        this.renewalsAsked += requests.filter((request) => request.type === 'renewLease').length;
        return requests;
      }
    }
    const node = new AskCountingNode('r1', defaultReplicationSettings, freshReplica, performance.now());
    const runner = new ReplicaRunner<number>(
      testRunnerOptions(
        { node, storage: new MemoryReplicaStorage(), state: new AppliedCommands(), send: () => undefined, logger },
        {
          coordinator: {
            renewLease: () => {
              calls += 1;
              return new Promise((resolve) => answers.push(resolve));
            },
            updateInSync: async () => undefined,
          },
        },
      ),
    );
    runner.observeView({ epoch: 1n, primary: 'r1', members: ['r1'], inSync: ['r1'], mode: 'sync', revision: 1n });
    runner.start();
    try {
      await eventually(() => calls === 2);
      // The core asks again while both wait (it retries every leaseRequestRetryMs): that ask is held, not lost.
      await eventually(() => node.renewalsAsked > 2);
      expect(calls).toBe(2);
      answers[0]?.(undefined);
      // Sent in the same turn as the slot freed, not at the core's next ask.
      await new Promise((resolve) => setImmediate(resolve));
      expect(calls).toBe(3);
    } finally {
      for (const resolve of answers) resolve(undefined);
      await runner.stop();
    }
  });
});

describe('ReplicaRunner pauses', () => {
  /** A core that records the pauses its runner reports. */
  class PauseRecordingNode extends ReplicaNode {
    readonly pausesMs: number[] = [];
    override resumedAfterPause(pausedMs: number): void {
      this.pausesMs.push(pausedMs);
      super.resumedAfterPause(pausedMs);
    }
  }

  it('tells the core how long it did not run when a tick comes late, and nothing of a tick on time', async () => {
    let clockMs = 0;
    const node = new PauseRecordingNode('r1', defaultReplicationSettings, freshReplica, clockMs);
    const runner = new ReplicaRunner<number>(
      testRunnerOptions(
        { node, storage: new MemoryReplicaStorage(), state: new AppliedCommands(), send: () => undefined, logger },
        { clockMs: () => clockMs },
      ),
    );
    runner.start();
    try {
      // On time (a tick every 5 ms), and late by no more than the event loop's lag: no pause.
      clockMs += 5;
      runner.observeView(view);
      clockMs += 5 + pauseToleranceMs;
      runner.observeView(view);
      expect(node.pausesMs).toEqual([]);
      // Stopped for 600 ms: the next input, whatever it is, finds out first.
      clockMs += 600;
      runner.observeView(view);
      expect(node.pausesMs).toEqual([600 - 5]);
    } finally {
      await runner.stop();
    }
  });
});
