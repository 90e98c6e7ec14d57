// The KV client against scripted routers on real gRPC: what it sends for
// each call, which failures it retries and where (the same request id on
// the next router when one cannot be reached; a backoff at the same one for
// other retryable answers; nothing else), deadlines, and close().
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { kvV1 } from '@bulwark/contracts';
import {
  AbortedError,
  asDecided,
  CancelledError,
  DeadlineExceededError,
  FailedPreconditionError,
  InvalidArgumentError,
  UnavailableError,
} from '@bulwark/errors';
import { freePort, occurrence } from '@bulwark/testing';
import { ScriptedRouter } from '../testing/scripted-router';
import { KvClient } from './kv-client';

const header = { memberId: 'replica-1', epoch: 3n, ballot: undefined, revision: 40n, sequence: 7n, groupId: 'group-a' };
const putAnswer = (version = 1n): kvV1.PutResponse => ({ header, succeeded: true, version, current: undefined });
const stored = (key: string, value: string, version = 1n): kvV1.KeyValue => ({
  key,
  value: Buffer.from(value),
  version,
  modSequence: 5n,
});

describe('KvClient', () => {
  let first: ScriptedRouter;
  let second: ScriptedRouter;
  let client: KvClient;

  beforeEach(async () => {
    [first, second] = await Promise.all([ScriptedRouter.start(), ScriptedRouter.start()]);
    client = new KvClient({ endpoints: [first.address, second.address], callTimeoutMs: 5_000 });
  });

  afterEach(async () => {
    client.close();
    await Promise.all([first.stop(), second.stop()]);
  });

  it('sends a put with its value, options and a request id of its own, distinct per write', async () => {
    first.answer('put', () => putAnswer(4n));
    const result = await client.put('k', 'héllo', {
      expectedVersion: 3n,
      durability: 'async',
      fence: { lockName: 'jobs', token: 9n },
    });
    await client.put('k', Buffer.from([0, 255]));
    const [sent, next] = first.requests('put');
    expect(sent).toMatchObject({
      key: 'k',
      value: Buffer.from('héllo'),
      expectedVersion: 3n,
      durability: kvV1.Durability.DURABILITY_ASYNC,
      fence: { lockName: 'jobs', token: 9n },
    });
    expect(next?.value).toEqual(Buffer.from([0, 255]));
    expect(next?.expectedVersion).toBeUndefined();
    expect(sent?.requestId).toMatch(/^kv-client:[\w-]+:1$/);
    expect(next?.requestId).not.toBe(sent?.requestId);
    expect(result).toEqual({
      header: { memberId: 'replica-1', groupId: 'group-a', epoch: 3n, revision: 40n, sequence: 7n },
      succeeded: true,
      version: 4n,
      current: undefined,
      requestId: sent?.requestId,
    });
  });

  it('uses the caller’s request id, and ids from newRequestId never repeat', async () => {
    first.answer('delete', () => ({ header, succeeded: true, existed: true }));
    const requestId = client.newRequestId();
    const result = await client.delete('k', { requestId, expectedVersion: 2n });
    expect(first.requests('delete')).toEqual([
      { key: 'k', expectedVersion: 2n, durability: 0, fence: undefined, requestId },
    ]);
    expect(result).toMatchObject({ succeeded: true, existed: true, requestId });
    // An empty id would leave a retry on another router undeduplicated: the client makes one instead.
    const unnamed = await client.delete('k', { requestId: '' });
    expect(unnamed.requestId).not.toBe('');
    expect(first.requests('delete')[1]?.requestId).toBe(unnamed.requestId);
    const ids = new Set(Array.from({ length: 1_000 }, () => client.newRequestId()));
    expect(ids.size).toBe(1_000);
    const other = new KvClient({ endpoints: [first.address] });
    expect(other.newRequestId()).not.toBe(requestId);
    other.close();
  });

  it('retries a write refused with UNAVAILABLE on the next router with the same request id, and stays there', async () => {
    first.answer('put', () => {
      throw new UnavailableError('draining');
    });
    second.answer('put', () => putAnswer());
    const result = await client.put('k', 'v');
    const [refused] = first.requests('put');
    const [answered] = second.requests('put');
    expect(answered).toEqual(refused);
    expect(result.requestId).toBe(refused?.requestId);
    await client.put('k2', 'v');
    expect(first.requests('put')).toHaveLength(1);
    expect(second.requests('put')).toHaveLength(2);
  });

  it('moves on from a router that cannot be reached at all', async () => {
    const nobody = `127.0.0.1:${await freePort()}`;
    const failingOver = new KvClient({ endpoints: [nobody, second.address], callTimeoutMs: 5_000 });
    second.answer('get', () => ({ header, found: true, kv: stored('k', 'v') }));
    try {
      const result = await failingOver.get('k');
      expect(result.kv?.value.toString()).toBe('v');
    } finally {
      failingOver.close();
    }
  });

  it('backs off and retries another retryable answer with the same request, at the same router', async () => {
    let refusals = 0;
    first.answer('txn', () => {
      refusals += 1;
      if (refusals <= 2) throw new AbortedError('lost a race');
      return { header, succeeded: true, results: [{ key: 'a', version: 2n, existed: true }] };
    });
    const result = await client.txn({ success: [{ type: 'put', key: 'a', value: 'x' }] });
    const attempts = first.requests('txn');
    expect(attempts).toHaveLength(3);
    expect(new Set(attempts.map((attempt) => attempt.requestId)).size).toBe(1);
    expect(second.requests('txn')).toEqual([]);
    expect(result).toMatchObject({ succeeded: true, results: [{ key: 'a', version: 2n, existed: true }] });
  });

  it('rejects at once, not retried, with the typed error a router answered, naming the field', async () => {
    first.answer('put', () => {
      throw new InvalidArgumentError('key', 'must not be empty');
    });
    second.answer('put', () => putAnswer());
    const error = await client.put('', 'v').catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect(error).toMatchObject({ retryable: false, details: { field: 'key' } });
    expect(first.requests('put')).toHaveLength(1);
    expect(second.requests('put')).toEqual([]);
  });

  it('gives up with UnavailableError naming every router when none answers, after its rounds', async () => {
    const nobody = [`127.0.0.1:${await freePort()}`, `127.0.0.1:${await freePort()}`];
    const lonely = new KvClient({ endpoints: nobody, retry: { attemptsMax: 3, initialBackoffMs: 10 } });
    const startedAt = performance.now();
    try {
      const error = await lonely.get('k').catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(UnavailableError);
      expect((error as Error).message).toContain(`unavailable at every router (${nobody.join(', ')})`);
      expect(performance.now() - startedAt).toBeLessThan(5_000);
    } finally {
      lonely.close();
    }
  });

  it('ends a call at its deadline when the router does not answer', async () => {
    first.answer('get', () => new Promise<never>(() => undefined));
    const startedAt = performance.now();
    const error = await client.get('k', { timeoutMs: 300 }).catch((caught: unknown) => caught);
    const elapsedMs = performance.now() - startedAt;
    expect(error).toBeInstanceOf(DeadlineExceededError);
    expect(elapsedMs).toBeGreaterThanOrEqual(290);
    expect(elapsedMs).toBeLessThan(3_000);
    expect(second.requests('get')).toEqual([]);
  });

  it('moves a call on from a router that stays silent for an attempt, with the same request id, and stays there', async () => {
    const bounded = new KvClient({
      endpoints: [first.address, second.address],
      callTimeoutMs: 5_000,
      attemptTimeoutMs: 200,
    });
    first.answer('put', () => new Promise<never>(() => undefined));
    second.answer('put', () => putAnswer());
    try {
      const result = await bounded.put('k', 'v');
      const [silent] = first.requests('put');
      const [answered] = second.requests('put');
      expect(answered).toEqual(silent);
      expect(result.requestId).toBe(silent?.requestId);
      await bounded.put('k2', 'v');
      expect(first.requests('put')).toHaveLength(1);
      expect(second.requests('put')).toHaveLength(2);
    } finally {
      bounded.close();
    }
  });

  it('says a write whose attempt went unanswered may have been applied, whatever another router refuses', async () => {
    const bounded = new KvClient({
      endpoints: [first.address, second.address],
      callTimeoutMs: 5_000,
      attemptTimeoutMs: 200,
    });
    const staleRing = () => {
      throw new FailedPreconditionError('group_id', "group 'group-b' no longer owns the key");
    };
    for (const method of ['put', 'get'] as const) {
      first.answer(method, () => new Promise<never>(() => undefined));
      second.answer(method, staleRing);
    }
    try {
      // The silent router may have applied the put: a refusal elsewhere is no answer about it.
      const put = await bounded.put('k', 'v', { requestId: 'job-7' }).catch((caught: unknown) => caught);
      expect(put).toBeInstanceOf(DeadlineExceededError);
      expect((put as Error).message).toContain('may or may not have been applied; retry it with request_id "job-7"');
      expect((put as Error).cause).toBeInstanceOf(FailedPreconditionError);
      // A read changes nothing: the refusal stands.
      const get = await bounded.get('k').catch((caught: unknown) => caught);
      expect(get).toBeInstanceOf(FailedPreconditionError);
      // A malformed write is refused the same everywhere: never applied.
      second.answer('put', () => {
        throw new InvalidArgumentError('key', 'must not be empty');
      });
      const malformed = await bounded.put('', 'v').catch((caught: unknown) => caught);
      expect(malformed).toBeInstanceOf(InvalidArgumentError);
      // The group's own answer to the request id is final: no earlier attempt took effect.
      second.answer('put', () => {
        throw asDecided(new FailedPreconditionError('fence.token', 'token 1 is below 2'));
      });
      const fenced = await bounded.put('k', 'v', { requestId: 'job-9' }).catch((caught: unknown) => caught);
      expect(fenced).toBeInstanceOf(FailedPreconditionError);
      expect(fenced).toMatchObject({ details: { field: 'fence.token', decided: true } });
    } finally {
      bounded.close();
    }
  });

  it('says a write cut off by a router that went away may have been applied', async () => {
    // The first router is reached through a relay whose connections the test cuts, as a router killed would.
    const connections = new Set<Socket>();
    const relay = createServer((socket) => {
      const upstream = connect(Number(first.address.split(':')[1]), '127.0.0.1');
      for (const end of [socket, upstream]) {
        connections.add(end);
        end.on('error', () => undefined);
      }
      socket.pipe(upstream).pipe(socket);
    });
    await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', resolve));
    const relayed = new KvClient({
      endpoints: [`127.0.0.1:${(relay.address() as AddressInfo).port}`, second.address],
      callTimeoutMs: 5_000,
    });
    const atFirst = occurrence();
    first.answer('put', () => {
      atFirst.signal();
      return new Promise<never>(() => undefined);
    });
    second.answer('put', () => {
      throw new FailedPreconditionError('group_id', "group 'group-b' no longer owns the key");
    });
    try {
      const put = relayed.put('k', 'v', { requestId: 'job-8' }).catch((caught: unknown) => caught);
      await atFirst.happened;
      relay.close();
      for (const socket of connections) socket.resetAndDestroy();
      const error = await put;
      expect(error).toBeInstanceOf(DeadlineExceededError);
      expect((error as Error).message).toContain('retry it with request_id "job-8"');
      // Cut, not silent: the client moved on at once rather than at its attempt's bound.
      expect((error as Error).message).toContain('group_id');
    } finally {
      relayed.close();
      relay.close();
    }
  });

  it('keeps a write that never reached any router definite: UNAVAILABLE, not unknown', async () => {
    const nobody = [`127.0.0.1:${await freePort()}`, `127.0.0.1:${await freePort()}`];
    const lonely = new KvClient({ endpoints: nobody, retry: { attemptsMax: 2, initialBackoffMs: 10 } });
    try {
      expect(await lonely.put('k', 'v').catch((caught: unknown) => caught)).toBeInstanceOf(UnavailableError);
    } finally {
      lonely.close();
    }
  });

  it('gives a call that is slow at every router longer attempts each round, so it completes', async () => {
    const bounded = new KvClient({
      endpoints: [first.address, second.address],
      callTimeoutMs: 5_000,
      attemptTimeoutMs: 100,
      retry: { initialBackoffMs: 1, backoffMsMax: 1 },
    });
    const slowly = () => new Promise<kvV1.PutResponse>((resolve) => setTimeout(() => resolve(putAnswer()), 300));
    first.answer('put', slowly);
    second.answer('put', slowly);
    try {
      const result = await bounded.put('k', 'v');
      expect(result.succeeded).toBe(true);
      // Rounds of 100 ms and 200 ms attempts cut both routers short; a 400 ms one waits the answer out.
      const attempts = [...first.requests('put'), ...second.requests('put')];
      expect(attempts.length).toBeGreaterThanOrEqual(5);
      expect(new Set(attempts.map((attempt) => attempt.requestId)).size).toBe(1);
    } finally {
      bounded.close();
    }
  });

  it('refuses a deadline that is not a positive number of ms', async () => {
    await expect(client.get('k', { timeoutMs: 0 })).rejects.toThrow('timeoutMs must be a positive number of ms, got 0');
    expect(() => new KvClient({ endpoints: [] })).toThrow('at least one router endpoint is needed');
  });

  it('reads at the consistency asked for, and says when a key is absent', async () => {
    first.answer('get', (request) =>
      request.key === 'there'
        ? { header, found: true, kv: stored('there', 'v', 3n) }
        : { header, found: false, kv: undefined },
    );
    const found = await client.get('there', { consistency: 'bounded', maxStalenessMs: 250 });
    const absent = await client.get('nowhere', { consistency: 'eventual' });
    expect(first.requests('get')).toEqual([
      { key: 'there', consistency: kvV1.Consistency.CONSISTENCY_BOUNDED, maxStalenessMs: 250 },
      { key: 'nowhere', consistency: kvV1.Consistency.CONSISTENCY_EVENTUAL, maxStalenessMs: 0 },
    ]);
    expect(found.kv).toEqual({ key: 'there', value: Buffer.from('v'), version: 3n, modSequence: 5n });
    expect(absent.kv).toBeUndefined();
  });

  it('pages through a scan with the tokens the router returns', async () => {
    first.answer('scan', (request) =>
      request.pageToken === ''
        ? { header, kvs: [stored('p/1', 'a'), stored('p/2', 'b')], nextPageToken: 'after-p/2' }
        : { header, kvs: [stored('p/3', 'c')], nextPageToken: '' },
    );
    const keys: string[] = [];
    for await (const kv of client.scanAll('p/', { pageSize: 2 })) keys.push(kv.key);
    expect(keys).toEqual(['p/1', 'p/2', 'p/3']);
    expect(first.requests('scan').map((request) => [request.prefix, request.limit, request.pageToken])).toEqual([
      ['p/', 2, ''],
      ['p/', 2, 'after-p/2'],
    ]);
  });

  it('gives every put of a batch its own request id and types each failed put’s error', async () => {
    first.answer('batchPut', (request) => ({
      header,
      results: [
        { key: request.puts[0]?.key ?? '', outcome: { $case: 'response', response: putAnswer() } },
        {
          key: request.puts[1]?.key ?? '',
          outcome: {
            $case: 'error',
            error: {
              code: 9,
              message: 'puts[1].fence.token: token 1 is below 2',
              detail: {
                field: 'puts[1].fence.token',
                leaderId: '',
                leaderAddress: '',
                retryable: false,
                kind: 'failed-precondition',
                revision: 0n,
                decided: true,
              },
            },
          },
        },
      ],
    }));
    const [ok, failed] = await client.batchPut([
      { key: 'a', value: '1' },
      { key: 'b', value: '2', fence: { lockName: 'l', token: 1n } },
    ]);
    const [sent] = first.requests('batchPut');
    const ids = sent?.puts.map((put) => put.requestId) ?? [];
    expect(new Set(ids).size).toBe(2);
    expect(ok).toMatchObject({ key: 'a', ok: true, requestId: ids[0], result: { succeeded: true, version: 1n } });
    expect(failed).toMatchObject({ key: 'b', ok: false, requestId: ids[1] });
    const error = failed?.ok === false ? failed.error : undefined;
    expect(error).toBeInstanceOf(FailedPreconditionError);
    expect(error?.details.field).toBe('puts[1].fence.token');
  });

  it('sends a transaction’s compares and ops as kv.v1 has them', async () => {
    first.answer('txn', () => ({ header, succeeded: false, results: [] }));
    const result = await client.txn({
      compares: [
        { key: 'a', target: 'version', operator: 'greater', version: 2n },
        { key: 'b', target: 'value', operator: 'not-equal', value: 'x' },
      ],
      success: [{ type: 'delete', key: 'a' }],
      failure: [{ type: 'put', key: 'b', value: 'y' }],
    });
    const [sent] = first.requests('txn');
    expect(sent?.compares).toEqual([
      {
        key: 'a',
        target: kvV1.CompareTarget.COMPARE_TARGET_VERSION,
        operator: kvV1.CompareOperator.COMPARE_OPERATOR_GREATER,
        version: 2n,
        value: Buffer.alloc(0),
      },
      {
        key: 'b',
        target: kvV1.CompareTarget.COMPARE_TARGET_VALUE,
        operator: kvV1.CompareOperator.COMPARE_OPERATOR_NOT_EQUAL,
        version: 0n,
        value: Buffer.from('x'),
      },
    ]);
    expect(sent?.success).toEqual([
      { op: { $case: 'delete', delete: { key: 'a', durability: 0, fence: undefined, requestId: '' } } },
    ]);
    expect(sent?.failure[0]?.op).toMatchObject({ $case: 'put', put: { key: 'b', value: Buffer.from('y') } });
    expect(result.succeeded).toBe(false);
  });

  it('rejects calls in progress and later ones with CancelledError once closed', async () => {
    first.answer('get', () => new Promise<never>(() => undefined));
    const pending = client.get('k');
    client.close();
    await expect(pending).rejects.toBeInstanceOf(CancelledError);
    await expect(client.get('k')).rejects.toBeInstanceOf(CancelledError);
  });
});
