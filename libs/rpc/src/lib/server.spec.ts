import { Writable } from 'node:stream';
import { Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { healthV1, kvV1 } from '@bulwark/contracts';
import { InvalidArgumentError, NotFoundError, NotLeaderError, UnavailableError } from '@bulwark/errors';
import { createLogger } from '@bulwark/logging';
import { callUnary, createClient } from './client';
import { ServingStatus } from './health';
import { startServer, type RunningServer } from './server';

const { HealthCheckResponse_ServingStatus: Status } = healthV1;

function capturingLogger() {
  const lines: Array<Record<string, unknown>> = [];
  const destination = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(line));
      done();
    },
  });
  return { lines, logger: createLogger({ service: 'test', memberId: 'test-1', level: 'info', destination }) };
}

/** A KV whose Get behaves by key, to exercise the wrapper and drain. */
function testKv(kit: Parameters<Parameters<typeof startServer>[1]>[0], released: Promise<void>) {
  const implementation: kvV1.KVServer = {
    get: kit.unary(async (request) => {
      switch (request.key) {
        case '':
          throw new InvalidArgumentError('key', 'must not be empty');
        case 'follower':
          throw new NotLeaderError('c2', '127.0.0.1:7002');
        case 'bug':
          throw new TypeError('cannot read properties of undefined');
        case 'slow':
          await released;
          return {
            header: undefined,
            found: true,
            kv: { key: 'slow', value: Buffer.from('v'), version: 1n, modSequence: 7n },
          };
        default:
          return { header: undefined, found: false, kv: undefined };
      }
    }),
    put: kit.unary(() => {
      throw new UnavailableError('no primary');
    }),
    delete: kit.unary(() => {
      throw new UnavailableError('no primary');
    }),
    batchGet: kit.unary(() => {
      throw new UnavailableError('no primary');
    }),
    scan: kit.unary(() => {
      throw new UnavailableError('no primary');
    }),
    batchPut: kit.unary(() => {
      throw new UnavailableError('no primary');
    }),
    txn: kit.unary(() => {
      throw new UnavailableError('no primary');
    }),
    locate: kit.unary(() => {
      throw new UnavailableError('no primary');
    }),
  };
  return { definition: kvV1.KVService, implementation };
}

describe('startServer', () => {
  let server: RunningServer;
  let address: string;
  let release: () => void;
  const captured = capturingLogger();
  let client: kvV1.KVClient;

  beforeAll(async () => {
    const released = new Promise<void>((resolve) => (release = resolve));
    server = await startServer({ address: '127.0.0.1:0', logger: captured.logger, drainDeadlineMs: 5_000 }, (kit) => [
      testKv(kit, released),
    ]);
    address = `127.0.0.1:${server.port}`;
    client = createClient(kvV1.KVClient, address);
  });

  afterAll(async () => {
    release();
    client.close();
    await server.drain('test over');
  });

  it('answers with the value a handler returns', async () => {
    const response = await callUnary(
      client,
      client.get,
      { key: 'absent', consistency: 0, maxStalenessMs: 0 },
      { deadlineMs: 5_000 },
    );
    expect(response.found).toBe(false);
  });

  it('turns domain errors into their status and back into typed errors naming the field', async () => {
    const request = { key: '', consistency: 0, maxStalenessMs: 0 };
    const error = await callUnary(client, client.get, request, { deadlineMs: 5_000 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect((error as InvalidArgumentError).details.field).toBe('key');
    expect((error as Error).message).toBe('key: must not be empty');

    const hint = await callUnary(client, client.get, { ...request, key: 'follower' }, { deadlineMs: 5_000 }).catch(
      (e: unknown) => e,
    );
    expect(hint).toBeInstanceOf(NotLeaderError);
    expect((hint as NotLeaderError).details.leaderAddress).toBe('127.0.0.1:7002');
  });

  it('answers INTERNAL for an unmapped error, and logs it', async () => {
    const code = await new Promise<number>((resolve) =>
      client.get({ key: 'bug', consistency: 0, maxStalenessMs: 0 }, (error: ServiceError | null) =>
        resolve(error?.code ?? 0),
      ),
    );
    expect(code).toBe(status.INTERNAL);
    expect(
      captured.lines.some((line) => line['msg'] === 'unmapped error in handler' && line['method'] === '/kv.v1.KV/Get'),
    ).toBe(true);
  });

  it('serves health that follows the state the app sets, on Check and Watch', async () => {
    const health = createClient(healthV1.HealthClient, address);
    try {
      const check = (service: string) => callUnary(health, health.check, { service }, { deadlineMs: 5_000 });
      expect((await check('')).status).toBe(Status.SERVING);
      expect((await check('kv.v1.KV')).status).toBe(Status.SERVING);
      await expect(check('nope.v1.Nope')).rejects.toBeInstanceOf(NotFoundError);

      const seen: number[] = [];
      const stream = health.watch({ service: 'kv.v1.KV' }, new Metadata());
      const twoUpdates = new Promise<void>((resolve) =>
        stream.on('data', (response: healthV1.HealthCheckResponse) => {
          seen.push(response.status);
          if (seen.length === 1) server.health.set('kv.v1.KV', ServingStatus.NOT_SERVING);
          if (seen.length === 2) resolve();
        }),
      );
      stream.on('error', () => undefined);
      await twoUpdates;
      stream.cancel();
      expect(seen).toEqual([Status.SERVING, Status.NOT_SERVING]);
      expect((await check('kv.v1.KV')).status).toBe(Status.NOT_SERVING);
      server.health.set('kv.v1.KV', ServingStatus.SERVING);
    } finally {
      health.close();
    }
  });

  it('drains: NOT_SERVING at once, in-flight calls finish, new calls are refused', async () => {
    const inFlight = callUnary(
      client,
      client.get,
      { key: 'slow', consistency: 0, maxStalenessMs: 0 },
      { deadlineMs: 10_000 },
    );
    // The call is in flight once the server has it; a round trip on the same channel orders it.
    await callUnary(client, client.get, { key: 'absent', consistency: 0, maxStalenessMs: 0 }, { deadlineMs: 5_000 });
    const drained = server.drain('test');
    expect(server.health.get('')).toBe(ServingStatus.NOT_SERVING);
    release();
    const response = await inFlight;
    expect(response.kv?.modSequence).toBe(7n);
    await drained;
    const late = createClient(kvV1.KVClient, address);
    await expect(
      callUnary(late, late.get, { key: 'absent', consistency: 0, maxStalenessMs: 0 }, { deadlineMs: 2_000 }),
    ).rejects.toBeInstanceOf(UnavailableError);
    late.close();
  });
});

describe('drain deadline', () => {
  it('forces calls that outlive the deadline closed, and finishes', async () => {
    const { logger, lines } = capturingLogger();
    const never = new Promise<void>(() => undefined);
    const server = await startServer({ address: '127.0.0.1:0', logger, drainDeadlineMs: 200 }, (kit) => [
      testKv(kit, never),
    ]);
    const client = createClient(kvV1.KVClient, `127.0.0.1:${server.port}`);
    const stuck = callUnary(
      client,
      client.get,
      { key: 'slow', consistency: 0, maxStalenessMs: 0 },
      { deadlineMs: 10_000 },
    ).catch((error: unknown) => error);
    await callUnary(client, client.get, { key: 'absent', consistency: 0, maxStalenessMs: 0 }, { deadlineMs: 5_000 });
    await server.drain('test');
    expect(await stuck).toBeInstanceOf(Error);
    expect(lines.some((line) => line['msg'] === 'drain deadline passed: closing remaining calls')).toBe(true);
    client.close();
  });
});
