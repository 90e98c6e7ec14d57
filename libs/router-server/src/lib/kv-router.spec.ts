import { coordinatorV1, kvV1, type shardV1 } from '@bulwark/contracts';
import {
  asDecided,
  DeadlineExceededError,
  FailedPreconditionError,
  InvalidArgumentError,
  NotLeaderError,
  ResourceExhaustedError,
  UnavailableError,
  withRevision,
} from '@bulwark/errors';
import { defaultKvLimits } from '@bulwark/kv-state';
import { createLogger } from '@bulwark/logging';
import { registry } from '@bulwark/metrics';
import { parseMetrics, valueOf } from '@bulwark/metrics/testing';
import { HashRing } from '@bulwark/partitioning';
import { Xoshiro128StarStar } from '@bulwark/random';
import { KvRouter } from './kv-router';
import type { OperationAnswer, OperationRequest } from './operate-stream';
import { decodePageToken } from './page-token';
import { ReadTargets } from './read-targets';
import type { ReplicaChannel, ReplicaChannels } from './replica-pool';
import { RoutingView, type TopologySource } from './routing-view';

const { Consistency } = kvV1;

/** A topology of two groups of three; group-a's members are a1..a3, group-b's b1..b3. */
function topology(
  revision: bigint,
  groups: Record<string, { epoch: bigint; primary: string; inSync?: string[] }>,
): coordinatorV1.Topology {
  const ids = Object.keys(groups);
  return {
    revision,
    members: ids.flatMap((id) =>
      [1, 2, 3].map((n) => ({
        id: `${id.slice(-1)}${n}`,
        address: `10.0.0.${n}:7100`,
        role: coordinatorV1.MemberRole.MEMBER_ROLE_REPLICA,
        groupId: id,
        metricsAddress: '',
      })),
    ),
    groups: ids.map((id) => {
      const members = [1, 2, 3].map((n) => `${id.slice(-1)}${n}`);
      const group = groups[id] as { epoch: bigint; primary: string; inSync?: string[] };
      return coordinatorV1.ReplicaGroup.fromPartial({
        id,
        epoch: group.epoch,
        primary: group.primary,
        members,
        inSync: group.inSync ?? members,
      });
    }),
    ring: { version: 1n, virtualNodesPerWeight: 64, groups: ids.map((groupId) => ({ groupId, weight: 1 })) },
  };
}

const ring = new HashRing(
  {
    version: 1n,
    groups: [
      { id: 'group-a', weight: 1 },
      { id: 'group-b', weight: 1 },
    ],
  },
  { virtualNodesPerWeight: 64 },
);
const keysOf = (groupId: string, count: number) =>
  Array.from({ length: 400 }, (_, n) => `key-${n}`)
    .filter((key) => ring.lookup(key) === groupId)
    .slice(0, count);
const keyA = keysOf('group-a', 1)[0] as string;
const keyB = keysOf('group-b', 1)[0] as string;

class FakeSource implements TopologySource {
  private state: { revision: bigint; topology: coordinatorV1.Topology } | undefined;
  private readonly listeners = new Set<(topology: coordinatorV1.Topology) => void>();
  current() {
    return this.state;
  }
  onChange(listener: (topology: coordinatorV1.Topology) => void) {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
  publish(next: coordinatorV1.Topology): void {
    this.state = { revision: next.revision, topology: next };
    for (const listener of this.listeners) listener(next);
  }
}

interface Sent {
  readonly memberId: string;
  readonly request: OperationRequest | shardV1.ScanRequest;
}

/** Replicas whose answers a test scripts per member; every request sent is recorded. */
class FakeReplicas implements ReplicaChannels {
  readonly sent: Sent[] = [];
  readonly notServing = new Set<string>();
  answer: (memberId: string, request: OperationRequest, timeoutMs: number) => Promise<OperationAnswer> = () =>
    Promise.reject(new UnavailableError('unscripted'));
  scanAnswer: (memberId: string, request: shardV1.ScanRequest) => Promise<shardV1.ScanResponse> = () =>
    Promise.reject(new UnavailableError('unscripted'));

  connection(memberId: string): ReplicaChannel {
    return {
      submit: (request, timeoutMs) => {
        this.sent.push({ memberId, request });
        return this.answer(memberId, request, timeoutMs);
      },
      scan: (request) => {
        this.sent.push({ memberId, request });
        return this.scanAnswer(memberId, request);
      },
    };
  }

  serving(memberId: string): boolean {
    return !this.notServing.has(memberId);
  }
}

const header = (memberId: string, groupId: string) => ({
  memberId,
  epoch: 1n,
  ballot: undefined,
  revision: 0n,
  sequence: 7n,
  groupId,
});

const putAnswer = (memberId: string, groupId = 'group-a'): OperationAnswer => ({
  $case: 'put',
  put: { response: { header: header(memberId, groupId), succeeded: true, version: 1n, current: undefined } },
});

const getAnswer = (memberId: string, value: string, groupId = 'group-a'): OperationAnswer => ({
  $case: 'get',
  get: {
    response: {
      header: header(memberId, groupId),
      found: true,
      kv: { key: 'k', value: Buffer.from(value), version: 1n, modSequence: 7n },
    },
  },
});

const putRequest = (key: string, requestId = ''): kvV1.PutRequest => ({
  key,
  value: Buffer.from('v'),
  durability: 0,
  fence: undefined,
  requestId,
});

function setUp(random = () => 0, backoff?: { initialBackoffMs: number; backoffMsMax: number }) {
  const source = new FakeSource();
  source.publish(topology(10n, { 'group-a': { epoch: 1n, primary: 'a1' }, 'group-b': { epoch: 1n, primary: 'b1' } }));
  const view = new RoutingView(source);
  const replicas = new FakeReplicas();
  const reads = new ReadTargets({
    policy: 'round-robin',
    random: new Xoshiro128StarStar(1),
    serving: (memberId) => replicas.serving(memberId),
    nowMs: () => performance.now(),
  });
  const router = new KvRouter({
    memberId: 'router-1',
    view,
    pool: replicas,
    reads,
    limits: defaultKvLimits,
    logger: createLogger({ service: 'test', memberId: 'router-1', level: 'fatal' }),
    random,
    ...(backoff ? { backoff } : {}),
  });
  const close = () => {
    router.close();
    view.close();
  };
  return { source, view, replicas, router, close };
}

const inMs = (ms: number) => performance.now() + ms;
const requestIdOf = (sent: Sent | undefined): string => {
  const request = sent?.request as OperationRequest;
  return request.$case === 'put' ? (request.put.request?.requestId ?? '') : '';
};

describe('KvRouter', () => {
  it('sends a write to the primary of the key’s group, with a request id of its own when the client gave none', async () => {
    const { replicas, router, close } = setUp();
    replicas.answer = async (memberId) => putAnswer(memberId, memberId.startsWith('a') ? 'group-a' : 'group-b');
    const first = await router.put(putRequest(keyA), inMs(1_000));
    await router.put(putRequest(keyB, 'client-id-1'), inMs(1_000));
    await router.put(putRequest(keyA), inMs(1_000));
    expect(first.header).toMatchObject({ memberId: 'a1', groupId: 'group-a' });
    expect(replicas.sent.map((sent) => sent.memberId)).toEqual(['a1', 'b1', 'a1']);
    const ids = replicas.sent.map(requestIdOf);
    expect(ids[0]).toMatch(/^router-1:[0-9a-f]{12}:/);
    expect(ids[1]).toBe('client-id-1');
    expect(ids[2]).not.toBe(ids[0]);
    close();
  });

  it('retries a refused write with the same request id once its topology has caught up with the replica’s', async () => {
    const { source, replicas, router, view, close } = setUp();
    replicas.answer = async (memberId) => {
      if (memberId === 'a1') throw withRevision(new NotLeaderError('a2'), 12n);
      // The retry must come from a table at least as new as the replica's.
      expect(view.current()?.revision).toBeGreaterThanOrEqual(12n);
      return putAnswer(memberId);
    };
    const answer = router.put(putRequest(keyA), inMs(2_000));
    // Let the first attempt be refused, then publish the failover the replica already knew about.
    await new Promise((resolve) => setImmediate(resolve));
    expect(replicas.sent.map((sent) => sent.memberId)).toEqual(['a1']);
    source.publish(topology(12n, { 'group-a': { epoch: 2n, primary: 'a2' }, 'group-b': { epoch: 1n, primary: 'b1' } }));
    await expect(answer).resolves.toMatchObject({ header: { memberId: 'a2' } });
    expect(replicas.sent.map((sent) => sent.memberId)).toEqual(['a1', 'a2']);
    expect(requestIdOf(replicas.sent[1])).toBe(requestIdOf(replicas.sent[0]));
    close();
  });

  it('abandons a write waiting on a primary that is replaced, and retries it at the new one with the same id', async () => {
    const { source, replicas, router, close } = setUp();
    replicas.answer = (memberId) =>
      // a1 is paused: it never answers.
      memberId === 'a1' ? new Promise<OperationAnswer>(() => undefined) : Promise.resolve(putAnswer(memberId));
    const answer = router.put(putRequest(keyA), inMs(5_000));
    await new Promise((resolve) => setImmediate(resolve));
    source.publish(topology(11n, { 'group-a': { epoch: 2n, primary: 'a3' }, 'group-b': { epoch: 1n, primary: 'b1' } }));
    await expect(answer).resolves.toMatchObject({ header: { memberId: 'a3' } });
    expect(replicas.sent.map((sent) => sent.memberId)).toEqual(['a1', 'a3']);
    expect(requestIdOf(replicas.sent[1])).toBe(requestIdOf(replicas.sent[0]));
    close();
  });

  it('retries UNAVAILABLE until an answer, and stops at the deadline with the last error', async () => {
    const { replicas, router, close } = setUp();
    let refusals = 3;
    replicas.answer = async (memberId) => {
      if (refusals-- > 0) throw new UnavailableError('no lease yet');
      return putAnswer(memberId);
    };
    await expect(router.put(putRequest(keyA), inMs(2_000))).resolves.toMatchObject({ succeeded: true });
    expect(replicas.sent).toHaveLength(4);

    replicas.answer = async () => {
      throw new UnavailableError('still no lease');
    };
    const before = replicas.sent.length;
    const deadline = inMs(100);
    await expect(router.put(putRequest(keyA), deadline)).rejects.toThrow('still no lease');
    expect(replicas.sent.length - before).toBeGreaterThan(1);
    close();
  });

  it('counts each retry under its kv.v1 method, each key of a batch apart', async () => {
    const { replicas, router, close } = setUp();
    const retries = async (method: string) =>
      valueOf(parseMetrics(await registry.metrics()), 'bulwark_router_retries_total', { method });
    const before = { put: await retries('Put'), batchGet: await retries('BatchGet'), get: await retries('Get') };
    const refused = new Set<string>();
    replicas.answer = async (memberId, request) => {
      // Each key's first attempt is refused, as by a primary whose lease is not valid yet.
      const key =
        request.$case === 'put' ? request.put.request?.key : request.$case === 'get' ? request.get.request?.key : '';
      if (!refused.has(`${request.$case}:${key}`)) {
        refused.add(`${request.$case}:${key}`);
        throw new UnavailableError('no lease yet');
      }
      return request.$case === 'put' ? putAnswer(memberId) : getAnswer(memberId, 'v');
    };
    await router.put(putRequest(keyA), inMs(2_000));
    await router.batchGet(
      { keys: [keyA, keyB], consistency: Consistency.CONSISTENCY_STRONG, maxStalenessMs: 0 },
      inMs(2_000),
    );
    expect(await retries('Put')).toBe(before.put + 1);
    expect(await retries('BatchGet')).toBe(before.batchGet + 2);
    expect(await retries('Get')).toBe(before.get);
    close();
  });

  it('does not retry a refusal a retry cannot fix, and names the field as the client wrote it', async () => {
    const { replicas, router, close } = setUp();
    replicas.answer = async () => {
      throw new FailedPreconditionError('request.fence.token', 'a newer token has been seen');
    };
    await expect(router.put(putRequest(keyA), inMs(1_000))).rejects.toMatchObject({
      kind: 'failed-precondition',
      details: { field: 'fence.token' },
    });
    expect(replicas.sent).toHaveLength(1);
    // Checked before anything is sent.
    await expect(router.put(putRequest(''), inMs(1_000))).rejects.toBeInstanceOf(InvalidArgumentError);
    expect(replicas.sent).toHaveLength(1);
    close();
  });

  it('does not retry a bound that does not empty by itself (a full store)', async () => {
    const { replicas, router, close } = setUp();
    replicas.answer = async () => {
      // As the replica answers a state refusal (shard-codec refusalError): not retryable.
      throw new ResourceExhaustedError('request.value', 'the group holds totalBytesMax already', { retryable: false });
    };
    await expect(router.put(putRequest(keyA), inMs(1_000))).rejects.toMatchObject({
      kind: 'resource-exhausted',
      details: { field: 'value' },
    });
    expect(replicas.sent).toHaveLength(1);
    close();
  });

  it('ends a write that may have been applied with DEADLINE_EXCEEDED naming the request id to retry with', async () => {
    const { replicas, router, close } = setUp();
    // The stream broke after the write left: it may or may not have been applied.
    replicas.answer = async () => {
      throw new UnavailableError('the Operate stream ended');
    };
    const failure = await router.put(putRequest(keyA), inMs(100)).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(DeadlineExceededError);
    expect(String(failure)).toContain(`request_id "${requestIdOf(replicas.sent[0])}"`);
    // Refused before it was proposed (not the primary): the last refusal is the answer, safe to retry anew.
    replicas.answer = async () => {
      throw new NotLeaderError();
    };
    await expect(router.put(putRequest(keyA), inMs(100))).rejects.toBeInstanceOf(NotLeaderError);
    // After a broken stream, the group's own answer to the request id is final: the write was never applied.
    let attempts = 0;
    replicas.answer = async () => {
      attempts += 1;
      if (attempts === 1) throw new UnavailableError('the Operate stream ended');
      throw asDecided(new FailedPreconditionError('request.fence.token', 'token 1 is below 2'));
    };
    await expect(router.put(putRequest(keyA), inMs(1_000))).rejects.toMatchObject({
      kind: 'failed-precondition',
      details: { decided: true },
    });
    expect(attempts).toBe(2);
    close();
  });

  it('backs off after a refusal from a member that only saw lease renewals since, instead of retrying at once', async () => {
    // A backoff longer than the deadline: a retry that waits for it gives up after the first attempt.
    const { source, replicas, router, close } = setUp(() => 0.5, { initialBackoffMs: 10_000, backoffMsMax: 10_000 });
    replicas.answer = async () => {
      // The member has seen revision 11, a renewal that changes no route.
      source.publish(
        topology(11n, { 'group-a': { epoch: 1n, primary: 'a1' }, 'group-b': { epoch: 1n, primary: 'b1' } }),
      );
      throw withRevision(new UnavailableError('no lease yet'), 11n);
    };
    await expect(router.put(putRequest(keyA), inMs(500))).rejects.toThrow('no lease yet');
    expect(replicas.sent).toHaveLength(1);
    close();
  });

  it('moves a balanced read on from a member that went silent', async () => {
    const { source, replicas, router, close } = setUp();
    source.publish(
      topology(11n, {
        'group-a': { epoch: 1n, primary: 'a1', inSync: ['a2'] },
        'group-b': { epoch: 1n, primary: 'b1' },
      }),
    );
    replicas.answer = (memberId, _request, timeoutMs) =>
      memberId === 'a2'
        ? new Promise((_, reject) => setTimeout(() => reject(new DeadlineExceededError('no answer')), timeoutMs))
        : Promise.resolve(getAnswer(memberId, 'x'));
    const answer = await router.get(
      { key: keyA, consistency: Consistency.CONSISTENCY_BOUNDED, maxStalenessMs: 100 },
      inMs(5_000),
    );
    expect(answer.header?.memberId).toBe('a1');
    expect(replicas.sent.map((sent) => sent.memberId)).toEqual(['a2', 'a1']);
    close();
  });

  it('refuses two puts of one BatchPut with the same request id', async () => {
    const { replicas, router, close } = setUp();
    await expect(
      router.batchPut({ puts: [putRequest(keyA, 'same'), putRequest(keyB, 'same')] }, inMs(1_000)),
    ).rejects.toMatchObject({ kind: 'invalid-argument', details: { field: 'puts[1].request_id' } });
    expect(replicas.sent).toEqual([]);
    close();
  });

  it('waits for a group without a primary instead of failing at once', async () => {
    const { source, replicas, router, close } = setUp(() => 0.5);
    source.publish(topology(11n, { 'group-a': { epoch: 2n, primary: '' }, 'group-b': { epoch: 1n, primary: 'b1' } }));
    replicas.answer = async (memberId) => putAnswer(memberId);
    const answer = router.put(putRequest(keyA), inMs(2_000));
    await new Promise((resolve) => setImmediate(resolve));
    expect(replicas.sent).toEqual([]);
    source.publish(topology(12n, { 'group-a': { epoch: 2n, primary: 'a2' }, 'group-b': { epoch: 1n, primary: 'b1' } }));
    await expect(answer).resolves.toMatchObject({ header: { memberId: 'a2' } });
    close();
  });

  it('balances BOUNDED reads over the in-sync set, skips a member that refused, and falls back to the primary', async () => {
    const { source, replicas, router, close } = setUp();
    source.publish(
      topology(11n, {
        'group-a': { epoch: 1n, primary: 'a1', inSync: ['a1', 'a2'] },
        'group-b': { epoch: 1n, primary: 'b1' },
      }),
    );
    const bounded = { key: keyA, consistency: Consistency.CONSISTENCY_BOUNDED, maxStalenessMs: 100 };
    replicas.answer = async (memberId) => getAnswer(memberId, 'x');
    for (let n = 0; n < 4; n++) await router.get(bounded, inMs(1_000));
    expect(new Set(replicas.sent.map((sent) => sent.memberId))).toEqual(new Set(['a1', 'a2']));

    // a2 is behind: it refuses, is skipped for a while, and a1 answers.
    replicas.sent.length = 0;
    replicas.answer = async (memberId) => {
      if (memberId === 'a2') throw new UnavailableError('behind');
      return getAnswer(memberId, 'x');
    };
    for (let n = 0; n < 4; n++) await router.get(bounded, inMs(1_000));
    expect(replicas.sent.filter((sent) => sent.memberId === 'a2').length).toBeLessThanOrEqual(1);

    // Nobody else serving: the primary answers EVENTUAL reads too.
    replicas.sent.length = 0;
    for (const id of ['a1', 'a2', 'a3']) replicas.notServing.add(id);
    await router.get({ key: keyA, consistency: Consistency.CONSISTENCY_EVENTUAL, maxStalenessMs: 0 }, inMs(1_000));
    expect(replicas.sent.map((sent) => sent.memberId)).toEqual(['a1']);
    close();
  });

  it('refuses a transaction over two groups naming the first key of the second, before sending anything', async () => {
    const { replicas, router, close } = setUp();
    const put = (key: string): kvV1.TxnOp => ({ op: { $case: 'put', put: putRequest(key) } });
    const request: kvV1.TxnRequest = {
      compares: [],
      success: [put(keyA), put(keyB)],
      failure: [],
      durability: 0,
      fence: undefined,
      requestId: '',
    };
    const refusal = await router.txn(request, inMs(1_000)).catch((error: unknown) => error);
    expect(refusal).toBeInstanceOf(FailedPreconditionError);
    expect(refusal).toMatchObject({ details: { field: 'success[1].put.key' } });
    expect(String(refusal)).toMatch(/group-a.*group-b/);
    expect(replicas.sent).toEqual([]);
    close();
  });

  it('sends a transaction over keys sharing a hash tag to their one group', async () => {
    const { replicas, router, close } = setUp();
    replicas.answer = async (memberId) => ({
      $case: 'txn',
      txn: { response: { header: header(memberId, 'group-?'), succeeded: true, results: [] } },
    });
    // Without the tag these keys land in both groups; with it, in the group of "7".
    const names = Array.from({ length: 40 }, (_, n) => `user:${n}`);
    expect(new Set(names.map((name) => ring.lookup(name))).size).toBe(2);
    const put = (key: string): kvV1.TxnOp => ({ op: { $case: 'put', put: putRequest(key) } });
    const request: kvV1.TxnRequest = {
      compares: [],
      success: names.map((name) => put(`{7}:${name}`)),
      failure: [],
      durability: 0,
      fence: undefined,
      requestId: '',
    };
    await expect(router.txn(request, inMs(1_000))).resolves.toMatchObject({ succeeded: true });
    const primaryOf7 = ring.lookup('7') === 'group-a' ? 'a1' : 'b1';
    expect(replicas.sent.map((sent) => sent.memberId)).toEqual([primaryOf7]);
    close();
  });

  it('answers BatchPut put by put: an invalid one fails alone, named by its index', async () => {
    const { replicas, router, close } = setUp();
    replicas.answer = async (memberId) => putAnswer(memberId);
    const answer = await router.batchPut({ puts: [putRequest(keyA), putRequest(''), putRequest(keyB)] }, inMs(1_000));
    expect(answer.results.map((result) => result.outcome?.$case)).toEqual(['response', 'error', 'response']);
    expect(answer.results[1]?.outcome).toMatchObject({ error: { code: 3, detail: { field: 'puts[1].key' } } });
    expect(answer.header?.memberId).toBe('router-1');
    close();
  });

  it('merges scan pages of every group in key order, continues after the token’s key, and skips stale copies', async () => {
    const { replicas, router, close } = setUp();
    const owned = Array.from({ length: 12 }, (_, n) => `p/key-${n}`);
    const stored: Record<string, string[]> = { 'group-a': [], 'group-b': [] };
    for (const key of owned) stored[ring.lookup(key)]?.push(key);
    // Copies a ring change left behind in the group that no longer owns them: never answered, never twice.
    for (const key of owned.slice(0, 4)) stored[ring.lookup(key) === 'group-a' ? 'group-b' : 'group-a']?.push(key);
    const all = [...owned].sort();
    replicas.scanAnswer = async (_memberId, request) => {
      const keys = (stored[request.groupId] ?? []).filter((key) => key >= request.startKey).sort();
      const page = keys.slice(0, request.limit);
      return {
        header: header('x', request.groupId),
        kvs: page.map((key) => ({ key, value: Buffer.from(key), version: 1n, modSequence: 1n })),
        nextStartKey: keys[request.limit] ?? '',
      };
    };
    const seen: string[] = [];
    let pageToken = '';
    let pages = 0;
    do {
      const page = await router.scan(
        { prefix: 'p/', limit: 5, pageToken, consistency: Consistency.CONSISTENCY_STRONG, maxStalenessMs: 0 },
        inMs(1_000),
      );
      expect(page.kvs.length).toBeLessThanOrEqual(5);
      seen.push(...page.kvs.map((kv) => kv.key));
      pageToken = page.nextPageToken;
      if (pageToken !== '') expect(decodePageToken(pageToken, 'p/', 1024).afterKey).toBe(seen[seen.length - 1]);
      pages++;
    } while (pageToken !== '' && pages < 20);
    expect(seen).toEqual(all);
    close();
  });

  it('names a key’s group, ring version, primary first and every member in Locate', async () => {
    const { router, close } = setUp();
    const answer = await router.locate({ key: keyB }, inMs(1_000));
    expect(answer).toMatchObject({ groupId: 'group-b', ringVersion: 1n, epoch: 1n, primary: 'b1' });
    expect(answer.replicas.map((replica) => [replica.memberId, replica.primary])).toEqual([
      ['b1', true],
      ['b2', false],
      ['b3', false],
    ]);
    expect(answer.keyHash).toBeGreaterThanOrEqual(0);
    close();
  });
});
