// lock.v1.Lock over real gRPC, on the memory backend: every method, the
// Hold stream's events and the refusals of bad input, each naming its field.
import { Metadata, type ClientDuplexStream } from '@grpc/grpc-js';
import { lockV1 } from '@bulwark/contracts';
import { createLogger } from '@bulwark/logging';
import { callUnary, createClient, startServer, type RunningServer } from '@bulwark/rpc';
import { memoryBackend, type LockBackend } from './lock-backend';
import { LockNode } from './lock-node';

const logger = createLogger({ service: 'test', memberId: 'test', level: 'fatal' });
const deadlineMs = 10_000;

type HoldStream = ClientDuplexStream<lockV1.HoldRequest, lockV1.HoldResponse>;

/** The events of a Hold stream, awaited one by one, and how it ended. */
class HoldEvents {
  private readonly events: lockV1.HoldResponse['event'][] = [];
  private waiting: (() => void) | undefined;
  ended: { code: number; details: string } | undefined;

  constructor(readonly stream: HoldStream) {
    stream.on('data', (response: lockV1.HoldResponse) => {
      this.events.push(response.event);
      this.waiting?.();
    });
    stream.on('error', (error: { code: number; details: string }) => {
      this.ended = { code: error.code, details: error.details };
      this.waiting?.();
    });
    stream.on('end', () => {
      this.ended ??= { code: 0, details: '' };
      this.waiting?.();
    });
  }

  async next(): Promise<lockV1.HoldResponse['event']> {
    while (this.events.length === 0) {
      if (this.ended) throw new Error(`the stream ended (${this.ended.code} ${this.ended.details}) with no event`);
      await new Promise<void>((resolve) => (this.waiting = resolve));
    }
    return this.events.shift();
  }

  async end(): Promise<{ code: number; details: string }> {
    while (!this.ended) await new Promise<void>((resolve) => (this.waiting = resolve));
    return this.ended;
  }
}

describe('lock.v1.Lock on the memory backend', () => {
  let backend: LockBackend;
  let node: LockNode;
  let server: RunningServer;
  let client: lockV1.LockClient;

  beforeAll(async () => {
    backend = memoryBackend();
    node = new LockNode({ memberId: 'lock-1', backend, logger });
    server = await startServer({ address: '127.0.0.1:0', logger, drainDeadlineMs: 1_000 }, (kit) => node.services(kit));
    client = createClient(lockV1.LockClient, `127.0.0.1:${server.port}`);
  });

  afterAll(async () => {
    client.close();
    await server.drain('test done');
    await node.stop();
  });

  const call = <Req, Res>(method: (request: Req, ...rest: never[]) => unknown, request: Req) =>
    callUnary<Req, Res>(client, method as never, request, { deadlineMs });
  const tryAcquire = (request: lockV1.TryAcquireRequest) =>
    call<lockV1.TryAcquireRequest, lockV1.TryAcquireResponse>(client.tryAcquire, request);
  const acquire = (request: lockV1.AcquireRequest) =>
    call<lockV1.AcquireRequest, lockV1.AcquireResponse>(client.acquire, request);
  // Without a lease id unless given: by owner and token, as grpcurl users release.
  const release = (request: Omit<lockV1.ReleaseRequest, 'leaseId'> & { leaseId?: string }) =>
    call<lockV1.ReleaseRequest, lockV1.ReleaseResponse>(client.release, { leaseId: '', ...request });
  const refresh = (request: lockV1.RefreshRequest) =>
    call<lockV1.RefreshRequest, lockV1.RefreshResponse>(client.refresh, request);
  const inspect = (name: string) => call<lockV1.InspectRequest, lockV1.InspectResponse>(client.inspect, { name });
  const hold = () => new HoldEvents(client.hold(new Metadata(), { deadline: Date.now() + 60_000 }));

  it('grants, refuses, refreshes and releases, naming the instance and how long the lease is valid', async () => {
    const grant = await tryAcquire({ name: 'svc/a', owner: 'alice', ttlMs: 5_000 });
    expect(grant).toMatchObject({ acquired: true, header: { memberId: 'lock-1' } });
    expect(grant.validForMs).toBeGreaterThan(4_000);
    expect(grant.validForMs).toBeLessThan(5_000);
    const refused = await tryAcquire({ name: 'svc/a', owner: 'bob', ttlMs: 5_000 });
    expect(refused).toMatchObject({
      acquired: false,
      token: 0n,
      validForMs: 0,
      holder: { owner: 'alice', token: grant.token },
    });
    expect(
      (await refresh({ name: 'svc/a', owner: 'alice', token: grant.token, ttlMs: 60_000 })).validForMs,
    ).toBeGreaterThan(50_000);
    await expect(release({ name: 'svc/a', owner: 'bob', token: grant.token })).rejects.toMatchObject({
      kind: 'failed-precondition',
      details: { field: 'token' },
    });
    await release({ name: 'svc/a', owner: 'alice', token: grant.token });
    const view = await inspect('svc/a');
    expect(view).toMatchObject({ held: false, lastToken: grant.token, waiters: 0 });
    expect(view.backend).toEqual({
      kind: lockV1.BackendKind.BACKEND_KIND_MEMORY,
      servers: 1,
      majority: 1,
      answered: 1,
      faultTolerant: false,
      unanswered: [],
    });
  });

  it('makes Acquire wait for a release, and answers not acquired with the holder at the wait timeout', async () => {
    const first = await tryAcquire({ name: 'svc/b', owner: 'alice', ttlMs: 60_000 });
    const timedOut = await acquire({ name: 'svc/b', owner: 'bob', ttlMs: 5_000, waitTimeoutMs: 100 });
    expect(timedOut).toMatchObject({ acquired: false, holder: { owner: 'alice', token: first.token } });
    const waiting = acquire({ name: 'svc/b', owner: 'bob', ttlMs: 5_000, waitTimeoutMs: 30_000 });
    // Bob is queued once Inspect counts him.
    while ((await inspect('svc/b')).waiters === 0) await new Promise((resolve) => setImmediate(resolve));
    await release({ name: 'svc/b', owner: 'alice', token: first.token });
    expect(await waiting).toMatchObject({ acquired: true, token: first.token + 1n });
  });

  it.each([
    ['name', { name: '', owner: 'o', ttlMs: 1_000, waitTimeoutMs: 0 }],
    ['name', { name: 'x'.repeat(257), owner: 'o', ttlMs: 1_000, waitTimeoutMs: 0 }],
    ['owner', { name: 'n', owner: '', ttlMs: 1_000, waitTimeoutMs: 0 }],
    ['owner', { name: 'n', owner: 'o'.repeat(129), ttlMs: 1_000, waitTimeoutMs: 0 }],
    ['ttl_ms', { name: 'n', owner: 'o', ttlMs: 99, waitTimeoutMs: 0 }],
    ['ttl_ms', { name: 'n', owner: 'o', ttlMs: 3_600_001, waitTimeoutMs: 0 }],
    ['wait_timeout_ms', { name: 'n', owner: 'o', ttlMs: 1_000, waitTimeoutMs: 300_001 }],
  ])('refuses a bad Acquire naming %s', async (field, request) => {
    await expect(acquire(request)).rejects.toMatchObject({ kind: 'invalid-argument', details: { field } });
  });

  it('ends a waiting Acquire with UNAVAILABLE when its instance drains, so the caller retries elsewhere', async () => {
    const draining = await startServer({ address: '127.0.0.1:0', logger, drainDeadlineMs: 5_000 }, (kit) =>
      node.services(kit),
    );
    const drainingClient = createClient(lockV1.LockClient, `127.0.0.1:${draining.port}`);
    try {
      const first = await tryAcquire({ name: 'svc/drain', owner: 'alice', ttlMs: 60_000 });
      const waiting = callUnary(
        drainingClient,
        drainingClient.acquire,
        { name: 'svc/drain', owner: 'bob', ttlMs: 5_000, waitTimeoutMs: 30_000 },
        { deadlineMs },
      );
      while ((await inspect('svc/drain')).waiters === 0) await new Promise((resolve) => setImmediate(resolve));
      const drained = draining.drain('test: stopping');
      await expect(waiting).rejects.toMatchObject({ kind: 'unavailable' });
      await drained;
      await release({ name: 'svc/drain', owner: 'alice', token: first.token });
    } finally {
      drainingClient.close();
    }
  });

  it('answers a lease id with every grant, and frees exactly that grant when a Release names it', async () => {
    const grant = await tryAcquire({ name: 'svc/lease', owner: 'alice', ttlMs: 60_000 });
    expect(grant.leaseId).toMatch(/^[A-Za-z0-9_.-]{1,64}$/);
    expect((await tryAcquire({ name: 'svc/lease', owner: 'bob', ttlMs: 1_000 })).leaseId).toBe('');
    // Another grant's lease id under the same owner and token is not this one: nothing is freed.
    await expect(
      release({ name: 'svc/lease', owner: 'alice', token: grant.token, leaseId: `${grant.leaseId}x` }),
    ).rejects.toMatchObject({ kind: 'failed-precondition', details: { field: 'token' } });
    expect(await inspect('svc/lease')).toMatchObject({ held: true });
    await release({ name: 'svc/lease', owner: 'alice', token: grant.token, leaseId: grant.leaseId });
    expect(await inspect('svc/lease')).toMatchObject({ held: false });
  });

  it.each(['a:b', 'x'.repeat(65), 'has space'])('refuses the lease id %j, naming lease_id', async (leaseId) => {
    await expect(release({ name: 'n', owner: 'o', token: 1n, leaseId })).rejects.toMatchObject({
      kind: 'invalid-argument',
      details: { field: 'lease_id' },
    });
  });

  it('refuses a token no grant returned, naming token', async () => {
    await expect(release({ name: 'n', owner: 'o', token: 0n })).rejects.toMatchObject({
      kind: 'invalid-argument',
      details: { field: 'token' },
    });
    await expect(refresh({ name: 'n', owner: 'o', token: 99n, ttlMs: 1_000 })).rejects.toMatchObject({
      kind: 'failed-precondition',
      details: { field: 'token' },
    });
  });

  it('holds a lock over a stream: granted, renewed, released', async () => {
    const stream = hold();
    stream.stream.write({
      action: { $case: 'acquire', acquire: { name: 'svc/h1', owner: 'alice', ttlMs: 2_000, waitTimeoutMs: 0 } },
    });
    const granted = await stream.next();
    if (granted?.$case !== 'granted') throw new Error(`expected granted, got ${granted?.$case}`);
    expect(granted.granted.validForMs).toBeGreaterThan(1_000);
    stream.stream.write({ action: { $case: 'renew', renew: {} } });
    expect((await stream.next())?.$case).toBe('renewed');
    stream.stream.write({ action: { $case: 'release', release: {} } });
    expect((await stream.next())?.$case).toBe('released');
    expect(await stream.end()).toEqual({ code: 0, details: '' });
    expect((await inspect('svc/h1')).held).toBe(false);
  });

  it('tells the holder at once when its grant is released by another call', async () => {
    const stream = hold();
    stream.stream.write({
      action: { $case: 'acquire', acquire: { name: 'svc/h2', owner: 'alice', ttlMs: 60_000, waitTimeoutMs: 0 } },
    });
    const granted = await stream.next();
    if (granted?.$case !== 'granted') throw new Error(`expected granted, got ${granted?.$case}`);
    await release({ name: 'svc/h2', owner: 'alice', token: granted.granted.token });
    expect(await stream.next()).toMatchObject({ $case: 'lost', lost: { cause: lockV1.LossCause.LOSS_CAUSE_RELEASED } });
    await stream.end();
  });

  it('tells a holder that stopped renewing that its lease ran out, and the next grant has a higher token', async () => {
    const stream = hold();
    stream.stream.write({
      action: { $case: 'acquire', acquire: { name: 'svc/h3', owner: 'alice', ttlMs: 300, waitTimeoutMs: 0 } },
    });
    const granted = await stream.next();
    if (granted?.$case !== 'granted') throw new Error(`expected granted, got ${granted?.$case}`);
    // Ending our side (as grpcurl does) stops renewals but still hears of the loss.
    stream.stream.end();
    expect(await stream.next()).toMatchObject({ $case: 'lost', lost: { cause: lockV1.LossCause.LOSS_CAUSE_EXPIRED } });
    expect(await stream.end()).toEqual({ code: 0, details: '' });
    const next = await acquire({ name: 'svc/h3', owner: 'bob', ttlMs: 1_000, waitTimeoutMs: 5_000 });
    expect(next).toMatchObject({ acquired: true, token: granted.granted.token + 1n });
  });

  it('ends the wait of a Hold waiter that ends its side, answering how it ended', async () => {
    const first = await tryAcquire({ name: 'svc/h6', owner: 'alice', ttlMs: 60_000 });
    const stream = hold();
    stream.stream.write({
      action: { $case: 'acquire', acquire: { name: 'svc/h6', owner: 'bob', ttlMs: 60_000, waitTimeoutMs: 30_000 } },
    });
    while ((await inspect('svc/h6')).waiters === 0) await new Promise((resolve) => setImmediate(resolve));
    stream.stream.end();
    // Racing the end of bob's side: either his wait ends first, or he hears of the grant and can release it.
    await release({ name: 'svc/h6', owner: 'alice', token: first.token });
    const answer = await stream.next();
    if (answer?.$case === 'granted') {
      await release({ name: 'svc/h6', owner: 'bob', token: answer.granted.token });
    } else {
      expect(answer?.$case).toBe('notAcquired');
    }
    await stream.end();
    expect(await acquire({ name: 'svc/h6', owner: 'carol', ttlMs: 1_000, waitTimeoutMs: 5_000 })).toMatchObject({
      acquired: true,
    });
  });

  it('resumes a grant on a new stream, and refuses to resume a grant that is gone', async () => {
    const grant = await tryAcquire({ name: 'svc/h4', owner: 'alice', ttlMs: 60_000 });
    const stream = hold();
    stream.stream.write({
      action: { $case: 'resume', resume: { name: 'svc/h4', owner: 'alice', token: grant.token, ttlMs: 60_000 } },
    });
    expect(await stream.next()).toMatchObject({ $case: 'granted', granted: { token: grant.token } });
    stream.stream.write({ action: { $case: 'release', release: {} } });
    expect((await stream.next())?.$case).toBe('released');
    const stale = hold();
    stale.stream.write({
      action: { $case: 'resume', resume: { name: 'svc/h4', owner: 'alice', token: grant.token, ttlMs: 60_000 } },
    });
    expect(await stale.end()).toMatchObject({ code: 9 });
  });

  it('refuses a stream that renews before holding, or acquires twice, naming action', async () => {
    const early = hold();
    early.stream.write({ action: { $case: 'renew', renew: {} } });
    expect(await early.end()).toMatchObject({ code: 3, details: expect.stringContaining('action') });
    const twice = hold();
    const acquireMessage = {
      action: { $case: 'acquire' as const, acquire: { name: 'svc/h5', owner: 'a', ttlMs: 60_000, waitTimeoutMs: 0 } },
    };
    twice.stream.write(acquireMessage);
    twice.stream.write(acquireMessage);
    expect((await twice.next())?.$case).toBe('granted');
    expect(await twice.end()).toMatchObject({ code: 3, details: expect.stringContaining('action') });
    const badName = hold();
    badName.stream.write({
      action: { $case: 'acquire', acquire: { name: '', owner: 'a', ttlMs: 60_000, waitTimeoutMs: 0 } },
    });
    expect(await badName.end()).toMatchObject({ code: 3, details: expect.stringContaining('acquire.name') });
  });
});
