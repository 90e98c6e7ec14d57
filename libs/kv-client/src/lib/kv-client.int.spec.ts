// The KV client against real processes (3 coordinators, a replica group of
// 3, two routers; from dist/, so `npm run -s build` first): every call does
// what kv.v1 says, a write repeated with its request id is applied once,
// and when a router is killed while writes stream through it they go on
// through the other one, every one acknowledged and none applied twice.
import { FailedPreconditionError, InvalidArgumentError } from '@bulwark/errors';
import { KvFleet, kvFleetGroupId } from '../testing/kv-fleet';
import { KvClient } from './kv-client';

describe('KvClient on a real fleet', () => {
  let fleet: KvFleet;
  let client: KvClient;

  beforeAll(async () => {
    fleet = await KvFleet.start({ routers: 2 });
    client = new KvClient({ endpoints: fleet.routers });
  }, 120_000);

  afterAll(async () => {
    client?.close();
    await fleet?.stop();
  });

  it('writes, reads, compares-and-sets and deletes a key', async () => {
    const created = await client.put('user/1/name', 'Ada');
    expect(created).toMatchObject({ succeeded: true, version: 1n, header: { groupId: kvFleetGroupId } });
    const read = await client.get('user/1/name');
    expect(read.kv?.value.toString()).toBe('Ada');
    expect(read.kv?.version).toBe(1n);
    expect((await client.get('user/1/name', { consistency: 'eventual' })).header.groupId).toBe(kvFleetGroupId);

    const stale = await client.put('user/1/name', 'Grace', { expectedVersion: 0n });
    expect(stale).toMatchObject({ succeeded: false, version: 1n });
    expect(stale.current?.value.toString()).toBe('Ada');
    expect(await client.put('user/1/name', 'Grace', { expectedVersion: 1n })).toMatchObject({
      succeeded: true,
      version: 2n,
    });

    expect(await client.delete('user/1/name', { expectedVersion: 1n })).toMatchObject({ succeeded: false });
    expect(await client.delete('user/1/name')).toMatchObject({ succeeded: true, existed: true });
    expect((await client.get('user/1/name')).kv).toBeUndefined();
    expect(await client.delete('user/1/name')).toMatchObject({ succeeded: true, existed: false });
  });

  it('answers a write sent again with its request id with the first outcome, applying it once', async () => {
    const requestId = client.newRequestId();
    const first = await client.put('once', 'v', { requestId });
    const again = await client.put('once', 'v', { requestId });
    expect(again.version).toBe(first.version);
    expect((await client.get('once')).kv?.version).toBe(1n);
  });

  it('batches, scans page by page, runs transactions and locates keys', async () => {
    const puts = await client.batchPut([
      { key: 'scan/a', value: '1' },
      { key: 'scan/b', value: '2' },
      { key: 'scan/c', value: '3' },
      { key: '', value: 'x' },
    ]);
    expect(puts.map((put) => put.ok)).toEqual([true, true, true, false]);
    const refused = puts[3]?.ok === false ? puts[3].error : undefined;
    expect(refused).toBeInstanceOf(InvalidArgumentError);
    expect(refused?.details.field).toBe('puts[3].key');

    const gets = await client.batchGet(['scan/b', 'scan/zz']);
    expect(gets.map((get) => get.kv?.value.toString())).toEqual(['2', undefined]);

    const firstPage = await client.scan('scan/', { pageSize: 2 });
    expect(firstPage.kvs.map((kv) => kv.key)).toEqual(['scan/a', 'scan/b']);
    expect(firstPage.nextPageToken).not.toBe('');
    const keys: string[] = [];
    for await (const kv of client.scanAll('scan/', { pageSize: 2 })) keys.push(kv.key);
    expect(keys).toEqual(['scan/a', 'scan/b', 'scan/c']);

    const txn = {
      compares: [{ key: 'txn/a', target: 'version', operator: 'equal', version: 0n }],
      success: [
        { type: 'put', key: 'txn/a', value: 'A' },
        { type: 'put', key: 'txn/b', value: 'B' },
      ],
      failure: [{ type: 'delete', key: 'txn/b' }],
    } as const;
    const applied = await client.txn(txn);
    expect(applied).toMatchObject({ succeeded: true, results: [{ key: 'txn/a', version: 1n }, { key: 'txn/b' }] });
    const failed = await client.txn(txn);
    expect(failed).toMatchObject({ succeeded: false, results: [{ key: 'txn/b', existed: true, version: 0n }] });

    const location = await client.locate('txn/a');
    expect(location.groupId).toBe(kvFleetGroupId);
    expect(location.replicas.map((replica) => replica.memberId).sort()).toEqual([
      'replica-1',
      'replica-2',
      'replica-3',
    ]);
    expect(location.replicas[0]).toMatchObject({ primary: true, memberId: location.primary });
  });

  it('refuses a stale fencing token with FailedPreconditionError naming the field', async () => {
    await client.put('fenced', 'v2', { fence: { lockName: 'jobs', token: 2n } });
    const error = await client
      .put('fenced', 'v1', { fence: { lockName: 'jobs', token: 1n } })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(FailedPreconditionError);
    expect((error as FailedPreconditionError).details.field).toBe('fence.token');
  });

  // Last: it kills router-1.
  it('keeps writing through the other router when one is killed mid-stream, each write applied once', async () => {
    const writers = 4;
    const writesPerWriter = 60;
    const killAfter = 60;
    let acknowledged = 0;
    let acknowledgedAfterKill = 0;
    let killed: Promise<void> | undefined;
    const router1 = fleet.member('router-1').process;
    const write = async (writer: number) => {
      for (let index = 0; index < writesPerWriter; index++) {
        const result = await client.put(`survive/${writer}/${index}`, `${writer}:${index}`);
        expect(result.succeeded).toBe(true);
        acknowledged += 1;
        if (killed) acknowledgedAfterKill += 1;
        // Writes are streaming through router-1 (the client's first) from all writers when it dies.
        if (acknowledged === killAfter) killed = router1.kill();
      }
    };
    await Promise.all(Array.from({ length: writers }, (_, writer) => write(writer)));
    await killed;
    expect(router1.alive).toBe(false);
    expect(acknowledgedAfterKill).toBeGreaterThanOrEqual(writers * writesPerWriter - killAfter - writers);

    // Every acknowledged write is there, once: a write applied twice would be at version 2.
    const stored = new Map<string, { value: string; version: bigint }>();
    for await (const kv of client.scanAll('survive/', { pageSize: 100 })) {
      stored.set(kv.key, { value: kv.value.toString(), version: kv.version });
    }
    expect(stored.size).toBe(writers * writesPerWriter);
    for (let writer = 0; writer < writers; writer++) {
      for (let index = 0; index < writesPerWriter; index++) {
        expect(stored.get(`survive/${writer}/${index}`)).toEqual({ value: `${writer}:${index}`, version: 1n });
      }
    }
  }, 60_000);
});
