// Traces across every hop of the fleet users run (docker-compose.yml through
// the launcher), exported over OTLP/gRPC to a receiver in this test as they
// would be to Jaeger: a Put through a router is one trace from the router to
// the group's primary and on to each backup; a fenced write shows its fence
// check; a lock acquire shows its Redis calls; a coordinator command shows
// its Paxos round. Batched hops (the router's Operate stream, the primary's
// group-commit WAL append, a backup's replication batch, the coordinator's
// durable write) link each operation they carried. No attribute holds a
// value, an owner or a token.
import { randomBytes, randomUUID } from 'node:crypto';
import { Metadata } from '@grpc/grpc-js';
import { coordinatorV1, kvV1, lockV1 } from '@bulwark/contracts';
import { launchComposeFleet, type ComposeFleet } from '@bulwark/fleet';
import { callUnary, createClient } from '@bulwark/rpc';
import { OtlpReceiver, repoPath, repoRoot, type ReceivedSpan } from '@bulwark/testing';
import { eventually } from './support/eventually';

const subnet = '127.77.88';
// Below the kernel's ephemeral range (32768-60999): no outgoing connection holds these ports.
const portOffset = 13_000;
const spansTimeoutMs = 30_000;
/** Strings that must never reach a span: a value written, a lock owner. */
const secretValue = `value-${randomUUID()}`;
const secretOwner = `owner-${randomUUID()}`;

/** A trace of the test's own: its calls carry this traceparent, so their spans are found by trace id. */
function testTrace(): { traceId: string; parentSpanId: string; metadata: Metadata } {
  const traceId = randomBytes(16).toString('hex');
  const parentSpanId = randomBytes(8).toString('hex');
  const metadata = new Metadata();
  metadata.set('traceparent', `00-${traceId}-${parentSpanId}-01`);
  return { traceId, parentSpanId, metadata };
}

/** The spans of one trace, with lookups by parent and by link. */
class Trace {
  constructor(readonly spans: readonly ReceivedSpan[]) {}

  childrenOf(parent: ReceivedSpan, name: string): ReceivedSpan[] {
    return this.spans.filter((span) => span.parentSpanId === parent.spanId && span.name === name);
  }

  childOf(parent: ReceivedSpan, name: string): ReceivedSpan | undefined {
    return this.childrenOf(parent, name)[0];
  }

  /** Whether span is below ancestor, through any number of parents. */
  descends(span: ReceivedSpan, ancestor: ReceivedSpan): boolean {
    const byId = new Map(this.spans.map((each) => [each.spanId, each]));
    for (let at = byId.get(span.parentSpanId); at; at = byId.get(at.parentSpanId)) {
      if (at.spanId === ancestor.spanId) return true;
    }
    return false;
  }
}

function traceOf(spans: readonly ReceivedSpan[], traceId: string): Trace {
  return new Trace(spans.filter((span) => span.traceId === traceId));
}

/** The spans (of any trace) that link to target. */
function linking(spans: readonly ReceivedSpan[], target: ReceivedSpan, name: string): ReceivedSpan[] {
  return spans.filter(
    (span) =>
      span.name === name && span.links.some((link) => link.traceId === target.traceId && link.spanId === target.spanId),
  );
}

describe('traces across the fleet', () => {
  let receiver: OtlpReceiver;
  let launched: ComposeFleet;
  let router: kvV1.KVClient;
  let lock: lockV1.LockClient;
  let coordinators: coordinatorV1.CoordinatorClient[];

  const topology = async () => {
    const answer = await Promise.any(
      coordinators.map((client) => callUnary(client, client.getTopology, {}, { deadlineMs: 2_000 })),
    );
    return answer.topology as coordinatorV1.Topology;
  };
  const put = (metadata: Metadata, key: string, fence?: { lockName: string; token: bigint }) =>
    callUnary(
      router,
      router.put,
      {
        key,
        value: Buffer.from(secretValue),
        expectedVersion: undefined,
        durability: kvV1.Durability.DURABILITY_UNSPECIFIED,
        fence,
        requestId: '',
      },
      { deadlineMs: 20_000, metadata },
    );
  /** The server span a service made for the test's call of method in its trace. */
  const serverSpanOf = (
    spans: readonly ReceivedSpan[],
    traced: { traceId: string; parentSpanId: string },
    method: string,
  ) =>
    spans.find(
      (span) =>
        span.traceId === traced.traceId &&
        span.parentSpanId === traced.parentSpanId &&
        span.kind === 'SERVER' &&
        span.name === `grpc.${method}`,
    );

  beforeAll(async () => {
    receiver = await OtlpReceiver.start();
    launched = await launchComposeFleet(repoPath('docker-compose.yml'), {
      subnet,
      projectDir: repoRoot,
      portOffset,
      readyTimeoutMs: 120_000,
      // As a user points `npm start` at a local collector; exported every 100 ms so the test waits less.
      environment: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint, OTEL_BSP_SCHEDULE_DELAY: '100' },
    });
    router = createClient(kvV1.KVClient, launched.address('router-1', 7200));
    lock = createClient(lockV1.LockClient, launched.address('lock-1', 7300));
    coordinators = ['coordinator-1', 'coordinator-2', 'coordinator-3'].map((name) =>
      createClient(coordinatorV1.CoordinatorClient, launched.address(name, 7001)),
    );
    // Every group has a primary and its whole in-sync set: a Put then replicates to both backups.
    await eventually('three groups with a primary and three in sync', 60_000, async () => {
      const groups = (await topology()).groups;
      return groups.length === 3 && groups.every((group) => group.primary !== '' && group.inSync.length === 3)
        ? true
        : undefined;
    });
  }, 180_000);

  afterAll(async () => {
    for (const client of [router, lock, ...(coordinators ?? [])]) client?.close();
    await launched?.stop();
    await receiver?.stop();
  });

  it('follows a Put from the router to the primary and on to each backup, batches linked', async () => {
    const key = `traced/${randomUUID()}`;
    const located = await callUnary(router, router.locate, { key }, { deadlineMs: 10_000 });
    const group = (await topology()).groups.find((each) => each.id === located.groupId);
    expect(group).toBeDefined();
    const backups = (group as coordinatorV1.ReplicaGroup).members.filter((member) => member !== group?.primary).sort();
    const traced = testTrace();
    await put(traced.metadata, key);

    const found = await receiver.waitFor((spans) => {
      const root = serverSpanOf(spans, traced, 'kv.v1.KV/Put');
      if (root) {
        const trace = traceOf(spans, root.traceId);
        const routing = trace.childOf(root, 'bulwark.router/Put');
        const client = routing && trace.childOf(routing, 'shard.v1.Shard/Put');
        const primary = client && trace.childOf(client, 'shard.v1.Shard/Put');
        const replication = primary ? trace.childrenOf(primary, 'replication.v1.Replication/Replicate') : [];
        if (!client || !primary || replication.length < backups.length) return undefined;
        const walAppends = linking(spans, primary, 'bulwark.replica/WALAppend');
        const batches = linking(spans, client, 'shard.v1.Shard/Operate');
        const backupBatches = replication.flatMap((span) =>
          linking(spans, span, 'replication.v1.Replication/Replicate'),
        );
        if (walAppends.length === 0 || batches.length < 2 || backupBatches.length < backups.length) return undefined;
        return { trace, routing, client, primary, replication, walAppends, batches, backupBatches };
      }
      return undefined;
    }, spansTimeoutMs);

    // router -> primary: the router's client span is the parent of the primary's server span.
    expect(found.client.kind).toBe('CLIENT');
    expect(found.client.service).toBe('router');
    expect(found.client.attributes).toMatchObject({
      'rpc.system': 'grpc',
      'rpc.service': 'shard.v1.Shard',
      'rpc.method': 'Put',
      'bulwark.replica.member': group?.primary,
      'rpc.grpc.status_code': 0,
    });
    expect(found.primary.kind).toBe('SERVER');
    expect(found.primary.instance).toBe(group?.primary);
    // primary -> each backup: one replication span per backup, children of the primary's.
    expect(found.replication.map((span) => span.attributes['bulwark.replica.backup']).sort()).toEqual(backups);
    for (const span of found.replication) {
      expect(span.instance).toBe(group?.primary);
      expect(span.kind).toBe('CLIENT');
    }
    // Batches link what they carried: the router's Operate batch as sent and as received by the primary, the
    // primary's group commit, each backup's replication batch.
    expect(found.batches.map((span) => `${span.instance}:${span.kind}`).sort()).toEqual(
      [`${group?.primary}:CONSUMER`, 'router-1:PRODUCER'].sort(),
    );
    expect(found.walAppends[0]?.instance).toBe(group?.primary);
    expect(found.backupBatches.map((span) => span.instance).sort()).toEqual(backups);
    for (const span of found.backupBatches) expect(span.kind).toBe('SERVER');
  });

  it('shows a lock acquire calling its Redis servers, and a fenced write its fence check', async () => {
    const lockName = `traced/${randomUUID()}`;
    const acquire = testTrace();
    const grant = await callUnary(
      lock,
      lock.tryAcquire,
      { name: lockName, owner: secretOwner, ttlMs: 30_000 },
      { deadlineMs: 10_000, metadata: acquire.metadata },
    );
    expect(grant.acquired).toBe(true);
    const redisCalls = await receiver.waitFor((spans) => {
      const root = serverSpanOf(spans, acquire, 'lock.v1.Lock/TryAcquire');
      if (!root) return undefined;
      const trace = traceOf(spans, root.traceId);
      const calls = trace.spans.filter(
        (span) => span.kind === 'CLIENT' && span.attributes['db.system.name'] === 'redis' && trace.descends(span, root),
      );
      // The grant asked all three Redis servers (a majority must answer).
      return new Set(calls.map((span) => span.attributes['server.address'])).size === 3 ? calls : undefined;
    }, spansTimeoutMs);
    // Command names only: no script arguments (names, owners, tokens) in the statement.
    for (const call of redisCalls) expect(call.attributes['db.query.text']).toBe('evalsha');

    const fencedPut = testTrace();
    await put(fencedPut.metadata, `traced/${randomUUID()}`, { lockName, token: grant.token });
    const fenced = await receiver.waitFor((spans) => {
      const root = serverSpanOf(spans, fencedPut, 'kv.v1.KV/Put');
      if (!root) return undefined;
      const trace = traceOf(spans, root.traceId);
      const primary = trace.spans.find((span) => span.name === 'shard.v1.Shard/Put' && span.kind === 'SERVER');
      const check = primary && trace.childOf(primary, 'bulwark.replica/FenceCheck');
      return check ? { primary, check } : undefined;
    }, spansTimeoutMs);
    expect(fenced.check.instance).toBe(fenced.primary.instance);
    expect(fenced.check.attributes['bulwark.fence.accepted']).toBe(true);

    // Refusals quote names and tokens in their messages; the spans of both must not (see the last test). A
    // newer holder's fenced write first, then the old token's write is stale; a release under a wrong token.
    const release = (token: bigint, metadata = new Metadata()) =>
      callUnary(
        lock,
        lock.release,
        { name: lockName, owner: secretOwner, token, leaseId: '' },
        { deadlineMs: 10_000, metadata },
      );
    await release(grant.token);
    const newer = await callUnary(
      lock,
      lock.tryAcquire,
      { name: lockName, owner: secretOwner, ttlMs: 30_000 },
      { deadlineMs: 10_000 },
    );
    expect(newer.token).toBeGreaterThan(grant.token);
    // One key: each replica group keeps its own fences.
    const fencedKey = `traced/${randomUUID()}`;
    await put(new Metadata(), fencedKey, { lockName, token: newer.token });
    await expect(put(testTrace().metadata, fencedKey, { lockName, token: grant.token })).rejects.toThrow(/below/);
    await expect(release(newer.token + 1n, testTrace().metadata)).rejects.toThrow(secretOwner);
    await release(newer.token);
  });

  it('shows a coordinator command as its Paxos round, accepted by the peers', async () => {
    const any = coordinators[0] as coordinatorV1.CoordinatorClient;
    const leader = await callUnary(any, any.getLeader, {}, { deadlineMs: 5_000 });
    const client = createClient(coordinatorV1.CoordinatorClient, leader.leaderAddress);
    const failover = testTrace();
    try {
      const group = (await topology()).groups.find((each) => each.id === 'group-c') as coordinatorV1.ReplicaGroup;
      await callUnary(
        client,
        client.failover,
        { groupId: group.id, expectedEpoch: group.epoch, targetPrimary: '', requestId: randomUUID() },
        { deadlineMs: 30_000, metadata: failover.metadata },
      );
    } finally {
      client.close();
    }
    const peers = ['coordinator-1', 'coordinator-2', 'coordinator-3'].filter((id) => id !== leader.leaderId);
    const round = await receiver.waitFor((spans) => {
      const root = serverSpanOf(spans, failover, 'coordinator.v1.Coordinator/Failover');
      if (!root) return undefined;
      const trace = traceOf(spans, root.traceId);
      const paxos = trace.spans.find((span) => span.name === 'bulwark.paxos/Round' && trace.descends(span, root));
      const accepts = paxos ? trace.childrenOf(paxos, 'paxos.v1.Paxos/Accept') : [];
      const persists = paxos ? linking(spans, paxos, 'bulwark.paxos/Persist') : [];
      return paxos && accepts.length === peers.length && persists.length > 0 ? { root, paxos, accepts } : undefined;
    }, spansTimeoutMs);
    expect(round.root.instance).toBe(leader.leaderId);
    expect(round.paxos.instance).toBe(leader.leaderId);
    expect(round.accepts.map((span) => span.attributes['bulwark.paxos.peer']).sort()).toEqual(peers);
    // A majority is the leader and one peer: at least one peer answered before the round ended.
    expect(round.accepts.some((span) => span.attributes['rpc.grpc.status_code'] === 0)).toBe(true);
  });

  it('puts no value, owner or token in any attribute or status message, refusals included', async () => {
    // The refusals of the lock test, exported: a stale fence on the primary, a release by the wrong token.
    const refusals = await receiver.waitFor((spans) => {
      const found = spans.filter(
        (span) =>
          (span.name === 'shard.v1.Shard/Put' && span.kind === 'SERVER' && span.status.message.includes('below')) ||
          (span.name === 'bulwark.lock/Release' && span.status.code === 'ERROR'),
      );
      return found.length >= 2 ? found : undefined;
    }, spansTimeoutMs);
    for (const span of refusals) expect(span.status.message).toMatch(/token …|"…"/);
    const leaks = receiver.spans.filter((span) =>
      [...Object.values(span.attributes), span.status.message].some(
        (value) => typeof value === 'string' && (value.includes(secretValue) || value.includes(secretOwner)),
      ),
    );
    expect(leaks.map((span) => `${span.service}:${span.name}`)).toEqual([]);
  });
});
