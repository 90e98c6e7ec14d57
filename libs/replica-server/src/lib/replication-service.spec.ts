// replication.v1 GetStatus over real gRPC, on a primary and its backup: each
// a ReplicaRunner over a real core, an in-memory log and the real key-value
// state machine, replicating through the real Replicate streams. Asked for
// it, a member reports the digest of its whole applied state with the
// applied sequence it covers: equal on members that applied the same log,
// different while one lacks a write, and left out unless asked.
import { performance } from 'node:perf_hooks';
import { Writable } from 'node:stream';
import { replicationV1 } from '@bulwark/contracts';
import { type Command, type Op, type Outcome } from '@bulwark/kv-state';
import { createLogger } from '@bulwark/logging';
import type { PersistBatch } from '@bulwark/replica-storage';
import { MemoryReplicaStorage } from '@bulwark/replica-storage/testing';
import { defaultReplicationSettings, freshReplica, ReplicaNode, type GroupView } from '@bulwark/replication';
import { callUnary, createClient, startServer, type RunningServer } from '@bulwark/rpc';
import { encodeCommand } from '@bulwark/shard-codec';
import { KvMachine } from './kv-machine';
import { testRunnerOptions } from '../testing/runner-options';
import { ReplicaRunner, type WriteResult } from './replica-runner';
import { replicationService } from './replication-service';
import { ReplicationTransport } from './replication-transport';

const groupId = 'group-a';
const view: GroupView = {
  epoch: 1n,
  primary: 'r1',
  members: ['r1', 'r2'],
  inSync: ['r1', 'r2'],
  mode: 'sync',
  revision: 1n,
};
const logger = createLogger({
  service: 'test',
  memberId: 'test',
  level: 'error',
  destination: new Writable({ write: (_chunk, _encoding, done) => done() }),
});

/** The in-memory log, whose appends wait while held: the Ready persisting them stays in flight. */
class HeldStorage extends MemoryReplicaStorage {
  private held = false;
  private readonly waiting: Array<() => void> = [];

  get waitingAppends(): number {
    return this.waiting.length;
  }

  hold(): void {
    this.held = true;
  }

  /** Lets the oldest waiting append through; later ones still wait. */
  releaseOne(): void {
    this.waiting.shift()?.();
  }

  releaseAll(): void {
    this.held = false;
    for (const release of this.waiting.splice(0)) release();
  }

  override async appendAsync(batch: PersistBatch): Promise<void> {
    if (this.held) await new Promise<void>((resolve) => this.waiting.push(resolve));
    return super.appendAsync(batch);
  }
}

interface Member {
  readonly id: string;
  readonly storage: HeldStorage;
  readonly machine: KvMachine;
  readonly runner: ReplicaRunner<Outcome>;
  readonly transport: ReplicationTransport;
  readonly server: RunningServer;
  readonly client: replicationV1.ReplicationClient;
}

/** Whether replication messages go out; closed, every member drops what it would send. */
const link = { open: true };

async function startMember(id: string, addresses: Map<string, string>): Promise<Member> {
  const storage = new HeldStorage();
  const machine = new KvMachine({});
  const node = new ReplicaNode(id, defaultReplicationSettings, freshReplica, performance.now());
  const transport: ReplicationTransport = new ReplicationTransport(
    id,
    groupId,
    (member) => addresses.get(member),
    logger,
    (message) => runner.deliver(message),
  );
  // Leases granted, in-sync changes refused: the backup stays in the commit rule whatever it misses.
  const runner: ReplicaRunner<Outcome> = new ReplicaRunner<Outcome>(
    testRunnerOptions(
      {
        node,
        storage,
        state: machine,
        send: (messages) => {
          if (link.open) transport.send(messages);
        },
        logger,
      },
      { addressOf: (member) => addresses.get(member) },
    ),
  );
  const server = await startServer({ address: '127.0.0.1:0', logger, drainDeadlineMs: 100 }, (kit) => [
    replicationService(kit, {
      memberId: id,
      groupId,
      node: () => runner.node,
      state: () => machine.state,
      storage,
      transport,
      clockMs: () => performance.now(),
    }),
  ]);
  const address = `127.0.0.1:${server.port}`;
  addresses.set(id, address);
  return {
    id,
    storage,
    machine,
    runner,
    transport,
    server,
    client: createClient(replicationV1.ReplicationClient, address),
  };
}

function status(member: Member, includeStateDigest: boolean): Promise<replicationV1.GetStatusResponse> {
  return callUnary(member.client, member.client.getStatus, { groupId, includeStateDigest }, { deadlineMs: 2_000 });
}

/** Asks until `attempt` answers something; fails naming `what` after a bound. */
async function eventually<T>(what: string, attempt: () => Promise<T | undefined>, timeoutMs = 5_000): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const answer = await attempt();
    if (answer !== undefined) return answer;
    if (performance.now() > deadline) throw new Error(`${what} not within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** A state machine of its own replaying `member`'s log through `sequence`: the digest the member must report there. */
function replayedDigest(member: Member, sequence: bigint): bigint {
  const replay = new KvMachine({});
  for (let at = 1n; at <= sequence; at++) {
    const entry = member.runner.node.entry(at);
    if (!entry) throw new Error(`${member.id} no longer holds entry ${at}`);
    replay.apply(entry);
  }
  return replay.state.digest();
}

let stampUnixMs = 1_700_000_000_000n;
const command = (body: Command['body'], extra: Pick<Command, 'requestId' | 'fence'> = { requestId: '' }) =>
  encodeCommand({ writtenUnixMs: stampUnixMs++, ...extra, body });
const putOp = (key: string, value: string): Op => ({ type: 'put', key, value: new TextEncoder().encode(value) });
const put = (key: string, value: string): Command['body'] => ({ type: 'op', op: putOp(key, value) });

describe('replication.v1 GetStatus state digest', () => {
  let primary: Member;
  let backup: Member;
  const write = (body: Command['body'], durability?: 'async', extra?: Pick<Command, 'requestId' | 'fence'>) =>
    primary.runner.write(command(body, extra), durability, extra?.fence !== undefined);

  /** Both members' statuses with digests, once both have applied the log through `sequence` (and no further). */
  async function convergedAt(
    sequence: bigint,
  ): Promise<[replicationV1.GetStatusResponse, replicationV1.GetStatusResponse]> {
    return eventually(`both members applying through ${sequence}`, async () => {
      const answers = await Promise.all([status(primary, true), status(backup, true)]);
      return answers.every((answer) => answer.appliedSequence === sequence) ? answers : undefined;
    });
  }

  beforeEach(async () => {
    link.open = true;
    const addresses = new Map<string, string>();
    primary = await startMember('r1', addresses);
    backup = await startMember('r2', addresses);
    for (const member of [primary, backup]) {
      member.runner.observeView(view);
      member.runner.start();
    }
    await eventually('r1 leading epoch 1', async () => (await status(primary, false)).role === 'primary' || undefined);
  });

  afterEach(async () => {
    link.open = true;
    for (const member of [primary, backup]) {
      member.storage.releaseAll();
      await member.runner.stop();
      member.transport.close();
      member.client.close();
      await member.server.drain('test done');
    }
  });

  it('reports the same digest and applied sequence on a primary and a backup that applied the same writes', async () => {
    await write(put('a', 'one'), undefined, { requestId: 'request-1' });
    await write(put('locked', 'x'), undefined, { requestId: '', fence: { lockName: 'lock-1', token: 7n } });
    await write({
      type: 'txn',
      compares: [{ key: 'a', target: 'version', op: 'eq', version: 1n }],
      success: [putOp('a', 'two'), { type: 'delete', key: 'locked' }],
      failure: [],
    });
    const last = await write(put('b', 'three'));

    const [atPrimary, atBackup] = await convergedAt(last.sequence);
    expect([atPrimary.role, atBackup.role]).toEqual(['primary', 'backup']);
    expect(atPrimary.stateDigest).toEqual(expect.any(BigInt));
    expect(atBackup.stateDigest).toBe(atPrimary.stateDigest);
    // The digest of the whole state the log through applied_sequence makes, not of an empty or partial one.
    expect(atPrimary.stateDigest).toBe(replayedDigest(primary, last.sequence));
    expect(atPrimary.stateDigest).not.toBe(replayedDigest(primary, last.sequence - 1n));
    expect(atPrimary.stateDigest).not.toBe(new KvMachine({}).state.digest());
  });

  it("reports different digests while the backup lacks the primary's newest write, the same once it applies it", async () => {
    const settled = await write(put('a', 'one'));
    const [, backupBefore] = await convergedAt(settled.sequence);

    link.open = false;
    // Async: committed on the primary's own disk under its lease, so answered with the backup cut off.
    const newest: WriteResult<Outcome> = await write(put('a', 'two'), 'async');
    const [atPrimary, atBackup] = await Promise.all([status(primary, true), status(backup, true)]);
    expect(atPrimary.appliedSequence).toBe(newest.sequence);
    expect(atBackup.appliedSequence).toBe(settled.sequence);
    expect(atBackup.stateDigest).toBe(backupBefore.stateDigest);
    expect(atPrimary.stateDigest).not.toBe(atBackup.stateDigest);
    expect(atPrimary.stateDigest).toBe(replayedDigest(primary, newest.sequence));

    link.open = true;
    const caughtUp = await eventually('the backup applying the newest write', async () => {
      const answer = await status(backup, true);
      return answer.appliedSequence === newest.sequence ? answer : undefined;
    });
    expect(caughtUp.stateDigest).toBe(atPrimary.stateDigest);
    expect((await status(primary, true)).stateDigest).toBe(atPrimary.stateDigest);
  });

  it('pairs the digest with the applied sequence of the state it hashed while a Ready is still being persisted', async () => {
    await convergedAt((await write(put('settled', 'yes'))).sequence);
    primary.storage.hold();
    const first = write(put('a', 'one'), 'async');
    await eventually(
      'the first write waiting for its disk',
      async () => primary.storage.waitingAppends === 1 || undefined,
    );
    const second = write(put('b', 'two'), 'async');
    // The first's Ready ends; the next applies it, then waits for its disk with the second write.
    primary.storage.releaseOne();
    const applied = await first;
    expect(primary.storage.waitingAppends).toBe(1);
    // The window: the state machine has applied the first write, the core hears of it after the disk write.
    expect(primary.runner.node.appliedSequence).toBeLessThan(applied.sequence);

    const answer = await status(primary, true);
    expect(answer.appliedSequence).toBe(applied.sequence);
    expect(answer.header?.sequence).toBe(applied.sequence);
    expect(answer.stateDigest).toBe(replayedDigest(primary, applied.sequence));

    primary.storage.releaseAll();
    expect((await second).sequence).toBe(applied.sequence + 1n);
  });

  it('leaves state_digest out unless include_state_digest is set', async () => {
    await write(put('a', 'one'));
    const [without, withDigest] = [await status(primary, false), await status(primary, true)];
    expect(without.stateDigest).toBeUndefined();
    expect(replicationV1.GetStatusResponse.toJSON(without)).not.toHaveProperty('stateDigest');
    expect(without.appliedSequence).toBe(withDigest.appliedSequence);
    expect(withDigest.stateDigest).toBe(replayedDigest(primary, withDigest.appliedSequence));
  });
});
