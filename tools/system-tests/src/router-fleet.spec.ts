// The router issue's acceptance on the fleet users run: docker-compose.yml
// through the launcher (3 coordinators, 3 replica groups of 3, 2 routers).
// Keys written through one router land on the group the ring names (read
// on the replicas themselves) and read back through the other; clients
// through both routers see errors only while a primary fails over, and
// their history (in the check-history format) is linearizable; a paged
// Scan crosses a failover between pages; writes through the CLI's client
// library lose nothing across a primary killed through the launcher; bad
// input gets a status naming the field.
import { Metadata, status as grpcStatus } from '@grpc/grpc-js';
import { coordinatorV1, kvV1, shardV1 } from '@bulwark/contracts';
import { hashRingOf } from '@bulwark/coordinator-client';
import { launchComposeFleet, type ComposeFleet } from '@bulwark/fleet';
import { KvClient } from '@bulwark/kv-client';
import { checkLinearizability } from '@bulwark/history';
import { seededUniform } from '@bulwark/random';
import { callUnary, createClient } from '@bulwark/rpc';
import { repoPath, repoRoot } from '@bulwark/testing';
import { eventually } from './support/eventually';
import { writeHistory } from './support/replica-group';
import { startRouterWorkload } from './support/router-workload';

const subnet = '127.77.72';
// Below the kernel's ephemeral range (32768-60999): no outgoing connection holds these ports.
const portOffset = 15_000;
const groupIds = ['group-a', 'group-b', 'group-c'];
const { Consistency } = kvV1;

/** The ring every router and replica builds from this topology. */
function ringOf(topology: coordinatorV1.Topology) {
  const ring = hashRingOf(topology.ring);
  if (!ring) throw new Error('the topology has no ring');
  return ring;
}

describe('routers on the compose fleet', () => {
  let launched: ComposeFleet;
  let routers: kvV1.KVClient[];
  let coordinators: coordinatorV1.CoordinatorClient[];

  const topology = () =>
    eventually('the topology', 20_000, async () => {
      const answer = await Promise.any(
        coordinators.map((client) => callUnary(client, client.getTopology, {}, { deadlineMs: 1_000 })),
      );
      return answer.topology;
    });

  /** The topology once every group has a primary and the ring holds them all. */
  const groupsReady = () =>
    eventually('three groups with primaries on the ring', 60_000, async () => {
      const current = await topology();
      const ring = current.ring?.groups.map((group) => group.groupId).sort();
      const withPrimary = current.groups.filter((group) => group.primary !== '').length;
      return withPrimary === 3 && ring?.join() === groupIds.join() ? current : undefined;
    });

  const shardOf = (current: coordinatorV1.Topology, memberId: string) => {
    const member = current.members.find((candidate) => candidate.id === memberId);
    if (!member) throw new Error(`${memberId} is not registered`);
    return createClient(shardV1.ShardClient, member.address);
  };

  beforeAll(async () => {
    launched = await launchComposeFleet(repoPath('docker-compose.yml'), {
      subnet,
      projectDir: repoRoot,
      portOffset,
      readyTimeoutMs: 120_000,
    });
    routers = ['router-1', 'router-2'].map((name, index) =>
      createClient(kvV1.KVClient, launched.address(name, 7200 + index)),
    );
    coordinators = ['coordinator-1', 'coordinator-2', 'coordinator-3'].map((name) =>
      createClient(coordinatorV1.CoordinatorClient, launched.address(name, 7001)),
    );
    await groupsReady();
  }, 180_000);

  afterAll(async () => {
    for (const client of [...(routers ?? []), ...(coordinators ?? [])]) client.close();
    await launched?.stop();
  });

  it('places 10,000 keys written through one router on the group the ring names, and reads them through the other', async () => {
    const [writer, reader] = routers as [kvV1.KVClient, kvV1.KVClient];
    const keys = Array.from({ length: 10_000 }, (_, index) => `placed/${index.toString().padStart(5, '0')}`);
    const valueOf = (key: string) => Buffer.from(`value of ${key}`);
    for (let start = 0; start < keys.length; start += 500) {
      const puts = keys.slice(start, start + 500).map((key) => ({
        key,
        value: valueOf(key),
        durability: 0,
        fence: undefined,
        requestId: '',
      }));
      const answer = await callUnary(writer, writer.batchPut, { puts }, { deadlineMs: 20_000 });
      const failed = answer.results.filter((result) => result.outcome?.$case !== 'response');
      expect(failed).toEqual([]);
    }

    // Each group holds exactly the keys the ring gives it, read on its primary directly.
    const current = await groupsReady();
    const ring = ringOf(current);
    for (const group of current.groups) {
      const shard = shardOf(current, group.primary);
      try {
        const stored: string[] = [];
        let startKey = '';
        do {
          const page = await callUnary(
            shard,
            shard.scan,
            {
              groupId: group.id,
              prefix: 'placed/',
              startKey,
              endKey: '',
              limit: 1_000,
              consistency: Consistency.CONSISTENCY_STRONG,
              maxStalenessMs: 0,
            },
            { deadlineMs: 10_000 },
          );
          stored.push(...page.kvs.map((kv) => kv.key));
          startKey = page.nextStartKey;
        } while (startKey !== '');
        const expected = keys.filter((key) => ring.lookup(key) === group.id);
        expect(stored).toEqual(expected);
        expect(expected.length).toBeGreaterThan(2_000);
      } finally {
        shard.close();
      }
    }

    for (let start = 0; start < keys.length; start += 1_000) {
      const asked = keys.slice(start, start + 1_000);
      const answer = await callUnary(
        reader,
        reader.batchGet,
        { keys: asked, consistency: Consistency.CONSISTENCY_STRONG, maxStalenessMs: 0 },
        { deadlineMs: 20_000 },
      );
      expect(answer.results.map((result) => result.key)).toEqual(asked);
      for (const result of answer.results) {
        expect(result.found).toBe(true);
        expect(Buffer.from(result.kv?.value ?? []).equals(valueOf(result.key))).toBe(true);
        expect(result.header?.groupId).toBe(ring.lookup(result.key));
      }
    }

    // EVENTUAL reads are spread over a group's members; each answer names the one that served it.
    const spread = await callUnary(
      reader,
      reader.batchGet,
      { keys: keys.slice(0, 300), consistency: Consistency.CONSISTENCY_EVENTUAL, maxStalenessMs: 0 },
      { deadlineMs: 20_000 },
    );
    const servedBy = new Set(spread.results.map((result) => result.header?.memberId));
    expect(servedBy.size).toBeGreaterThanOrEqual(6);
    for (const result of spread.results) {
      const group = current.groups.find((candidate) => candidate.id === result.header?.groupId);
      expect(group?.members).toContain(result.header?.memberId);
    }

    // Locate names the same group, its primary and members.
    const located = await callUnary(reader, reader.locate, { key: 'placed/00042' }, { deadlineMs: 5_000 });
    const owner = current.groups.find((group) => group.id === ring.lookup('placed/00042'));
    expect(located.groupId).toBe(owner?.id);
    expect(located.ringVersion).toBe(current.ring?.version);
    expect(located.replicas.map((replica) => replica.memberId).sort()).toEqual([...(owner?.members ?? [])].sort());
    expect(located.replicas[0]?.primary).toBe(true);
  });

  it('keeps clients of both routers correct while primaries are killed again and again', async () => {
    const keys = Array.from({ length: 12 }, (_, index) => `failover/${index}`);
    const workload = startRouterWorkload({
      routers,
      clients: 6,
      keys,
      random: seededUniform(17),
      callDeadlineMs: 8_000,
    });
    await workload.progress(100, 30_000);
    const windows: Array<{ start: number; end: number }> = [];
    for (let kill = 0; kill < 4; kill++) {
      const current = await groupsReady();
      const group = current.groups[kill % current.groups.length] as coordinatorV1.ReplicaGroup;
      const start = performance.now();
      await launched.fleet.kill(group.primary, 'SIGKILL');
      // Failed over once the group has another primary.
      await eventually('a new primary', 30_000, async () => {
        const next = (await topology()).groups.find((candidate) => candidate.id === group.id);
        return next && next.primary !== '' && next.primary !== group.primary ? next : undefined;
      });
      await workload.progress(50, 30_000);
      windows.push({ start, end: performance.now() });
      launched.fleet.start(group.primary);
      await launched.fleet.waitHealthy(30_000, [group.primary]);
      await workload.progress(50, 30_000);
    }
    await workload.stop();
    await workload.readEach(keys);
    const history = workload.recorder.operations;
    const file = writeHistory('router-failover', history);
    process.stdout.write(`history of ${history.length} operations, ${workload.errors.length} client errors: ${file}\n`);
    // Errors only inside a failover window (from the kill to the first writes after the new primary).
    const outside = workload.errors.filter(
      (error) => !windows.some((window) => error.at >= window.start && error.at <= window.end + 1_000),
    );
    expect(outside).toEqual([]);
    const result = checkLinearizability(history);
    expect(result.verdict).toBe('linearizable');
  });

  it("loses nothing written through the CLI's client library while a primary is killed through the launcher", async () => {
    const client = new KvClient({
      endpoints: ['router-1', 'router-2'].map((name, index) => launched.address(name, 7200 + index)),
      callTimeoutMs: 20_000,
    });
    const current = await groupsReady();
    const victim = current.groups.find((group) => group.id === 'group-b') as coordinatorV1.ReplicaGroup;
    // Each key written once, so a write applied twice would show as version 2.
    const acknowledged = new Map<string, bigint>();
    const failures: string[] = [];
    let writing = true;
    let written = 0;
    const writer = async (index: number) => {
      for (let sequence = 0; writing; sequence++) {
        const key = `cli-failover/${index}/${sequence}`;
        try {
          const result = await client.put(key, `value-${index}-${sequence}`);
          acknowledged.set(key, result.version);
          written++;
        } catch (error) {
          failures.push(`${key}: ${String(error)}`);
        }
      }
    };
    const writers = Array.from({ length: 8 }, (_, index) => writer(index));
    try {
      await eventually('writes before the kill', 30_000, async () => (written >= 200 ? true : undefined));
      await launched.fleet.kill(victim.primary, 'SIGKILL');
      const next = await eventually('a new primary of group-b', 30_000, async () => {
        const group = (await topology()).groups.find((candidate) => candidate.id === victim.id);
        return group && group.primary !== '' && group.primary !== victim.primary ? group : undefined;
      });
      // Writes that the new primary took.
      const before = written;
      await eventually('writes after the failover', 30_000, async () => (written >= before + 200 ? true : undefined));
      expect(next.epoch).toBeGreaterThan(victim.epoch);
    } finally {
      writing = false;
      await Promise.all(writers);
      launched.fleet.start(victim.primary);
    }
    expect(failures).toEqual([]);
    const ring = ringOf(current);
    const onVictim = [...acknowledged.keys()].filter((key) => ring.lookup(key) === victim.id);
    expect(onVictim.length).toBeGreaterThan(0);
    // Every acknowledged write is there, with its value, applied once.
    for (const [key, version] of acknowledged) {
      const [, index, sequence] = key.split('/');
      const read = await client.get(key, { consistency: 'strong' });
      expect([key, version, read.kv?.value.toString(), read.kv?.version]).toEqual([
        key,
        1n,
        `value-${index}-${sequence}`,
        1n,
      ]);
    }
    client.close();
    await launched.fleet.waitHealthy(30_000, [victim.primary]);
  });

  it('scans a prefix across every group in order, page by page, while a primary fails over between pages', async () => {
    const [writer, reader] = routers as [kvV1.KVClient, kvV1.KVClient];
    const keys = Array.from({ length: 250 }, (_, index) => `scan/${index.toString().padStart(3, '0')}`);
    const puts = keys.map((key) => ({ key, value: Buffer.from(key), durability: 0, fence: undefined, requestId: '' }));
    await callUnary(writer, writer.batchPut, { puts }, { deadlineMs: 20_000 });
    const seen: string[] = [];
    let pageToken = '';
    let pages = 0;
    do {
      const page = await callUnary(
        pages % 2 === 0 ? reader : writer,
        reader.scan,
        { prefix: 'scan/', limit: 40, pageToken, consistency: Consistency.CONSISTENCY_STRONG, maxStalenessMs: 0 },
        { deadlineMs: 15_000 },
      );
      expect(page.kvs.length).toBeLessThanOrEqual(40);
      seen.push(...page.kvs.map((kv) => kv.key));
      pageToken = page.nextPageToken;
      pages++;
      if (pages === 2) {
        // Between pages: the primary of the group holding the next key dies and the group fails over.
        const current = await groupsReady();
        const next = await callUnary(
          reader,
          reader.locate,
          { key: keys[seen.length] ?? keys[0] ?? '' },
          { deadlineMs: 5_000 },
        );
        const group = current.groups.find((candidate) => candidate.id === next.groupId) as coordinatorV1.ReplicaGroup;
        await launched.fleet.kill(group.primary, 'SIGKILL');
        await eventually('a new primary', 30_000, async () => {
          const moved = (await topology()).groups.find((candidate) => candidate.id === group.id);
          return moved && moved.primary !== '' && moved.primary !== group.primary ? moved : undefined;
        });
        launched.fleet.start(group.primary);
      }
    } while (pageToken !== '');
    expect(seen).toEqual(keys);
    expect(pages).toBeGreaterThanOrEqual(7);
    await groupsReady();
  });

  it('answers bad input with INVALID_ARGUMENT or FAILED_PRECONDITION naming the field', async () => {
    const router = routers[0] as kvV1.KVClient;
    const refused = async (call: Promise<unknown>, code: number, field: string) => {
      await expect(call).rejects.toMatchObject({ details: { field } });
      await call.catch((error: { kind: string }) => {
        expect(error.kind).toBe(code === grpcStatus.INVALID_ARGUMENT ? 'invalid-argument' : 'failed-precondition');
      });
    };
    const settings = { deadlineMs: 5_000 };
    const put = (key: string, value = Buffer.from('v')) => ({
      key,
      value,
      durability: 0,
      fence: undefined,
      requestId: '',
    });
    await refused(callUnary(router, router.put, put(''), settings), grpcStatus.INVALID_ARGUMENT, 'key');
    await refused(callUnary(router, router.put, put('k'.repeat(1_025)), settings), grpcStatus.INVALID_ARGUMENT, 'key');
    await refused(
      callUnary(router, router.put, put('k', Buffer.alloc(1024 * 1024 + 1)), settings),
      grpcStatus.INVALID_ARGUMENT,
      'value',
    );
    await refused(
      callUnary(router, router.put, { ...put('k'), durability: 7 }, settings),
      grpcStatus.INVALID_ARGUMENT,
      'durability',
    );
    await refused(
      callUnary(
        router,
        router.get,
        { key: 'k', consistency: Consistency.CONSISTENCY_BOUNDED, maxStalenessMs: 0 },
        settings,
      ),
      grpcStatus.INVALID_ARGUMENT,
      'max_staleness_ms',
    );
    await refused(
      callUnary(router, router.get, { key: 'k', consistency: 9, maxStalenessMs: 0 }, settings),
      grpcStatus.INVALID_ARGUMENT,
      'consistency',
    );
    await refused(
      callUnary(router, router.batchGet, { keys: [], consistency: 0, maxStalenessMs: 0 }, settings),
      grpcStatus.INVALID_ARGUMENT,
      'keys',
    );
    await refused(
      callUnary(
        router,
        router.batchGet,
        { keys: Array.from({ length: 1_001 }, (_, i) => `k${i}`), consistency: 0, maxStalenessMs: 0 },
        settings,
      ),
      grpcStatus.INVALID_ARGUMENT,
      'keys',
    );
    await refused(
      callUnary(router, router.batchGet, { keys: ['a', ''], consistency: 0, maxStalenessMs: 0 }, settings),
      grpcStatus.INVALID_ARGUMENT,
      'keys[1]',
    );
    await refused(
      callUnary(
        router,
        router.scan,
        { prefix: 'p', limit: 0, pageToken: 'not a token!', consistency: 0, maxStalenessMs: 0 },
        settings,
      ),
      grpcStatus.INVALID_ARGUMENT,
      'page_token',
    );
    await refused(
      callUnary(
        router,
        router.scan,
        { prefix: 'p', limit: 1_001, pageToken: '', consistency: 0, maxStalenessMs: 0 },
        settings,
      ),
      grpcStatus.INVALID_ARGUMENT,
      'limit',
    );
    const batch = await callUnary(router, router.batchPut, { puts: [put('fine'), put('')] }, settings);
    expect(batch.results[0]?.outcome?.$case).toBe('response');
    expect(batch.results[1]?.outcome).toMatchObject({
      $case: 'error',
      error: { code: grpcStatus.INVALID_ARGUMENT, detail: { field: 'puts[1].key' } },
    });

    // A transaction over keys of two groups names the first key of the second group, and both groups.
    const current = await groupsReady();
    const ring = ringOf(current);
    const first = 'txn/0';
    const other = Array.from({ length: 100 }, (_, i) => `txn/${i}`).find(
      (key) => ring.lookup(key) !== ring.lookup(first),
    ) as string;
    const spanning: kvV1.TxnRequest = {
      compares: [],
      success: [{ op: { $case: 'put', put: put(first) } }, { op: { $case: 'put', put: put(other) } }],
      failure: [],
      durability: 0,
      fence: undefined,
      requestId: '',
    };
    const spanError = await callUnary(router, router.txn, spanning, settings).catch((error: unknown) => error);
    expect(spanError).toMatchObject({ kind: 'failed-precondition', details: { field: 'success[1].put.key' } });
    expect(String(spanError)).toContain(ring.lookup(first));
    expect(String(spanError)).toContain(ring.lookup(other));

    // A replica refuses a key its group does not own on its ring, naming group_id and its topology revision:
    // a router with an older ring catches up and sends the key to its group instead of leaving it astray.
    const groupA = current.groups.find((group) => group.id === 'group-a') as coordinatorV1.ReplicaGroup;
    const foreign = Array.from({ length: 100 }, (_, i) => `astray/${i}`).find(
      (key) => ring.lookup(key) !== 'group-a',
    ) as string;
    const shard = shardOf(current, groupA.primary);
    try {
      const astray = await callUnary(shard, shard.put, { groupId: 'group-a', request: put(foreign) }, settings).catch(
        (error: unknown) => error,
      );
      expect(astray).toMatchObject({ kind: 'failed-precondition', details: { field: 'group_id' } });
      expect((astray as { details: { revision?: bigint } }).details.revision).toBeGreaterThan(0n);
      expect(String(astray)).toContain(ring.lookup(foreign));
    } finally {
      shard.close();
    }

    // The router survived all of it, and names the group and replica in the response metadata too.
    const metadata = await new Promise<Metadata>((resolve, reject) => {
      const call = router.get({ key: 'fine', consistency: 0, maxStalenessMs: 0 }, (error, answer) => {
        if (error) reject(error);
        else expect(answer.found).toBe(true);
      });
      call.on('metadata', resolve);
    });
    const located = await callUnary(router, router.locate, { key: 'fine' }, settings);
    expect(metadata.get('bulwark-group')).toEqual([located.groupId]);
    expect(metadata.get('bulwark-replica')).toEqual([located.primary]);
  });
});
