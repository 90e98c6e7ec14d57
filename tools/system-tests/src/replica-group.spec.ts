// A replica group of 3 real replica processes and 3 coordinators, run by the
// launcher: the group is created and put on the ring by itself; writes go
// to the primary, which answers once every in-sync member has them; a
// backup refuses writes naming the primary; every member converges.
import { shardV1 } from '@bulwark/contracts';
import { NotLeaderError } from '@bulwark/errors';
import { callUnary } from '@bulwark/rpc';
import {
  eventually,
  launchReplicaGroup,
  putRequest,
  replicaNames,
  type ReplicaGroupFleet,
} from './support/replica-group';

const { Consistency } = { Consistency: { STRONG: 1, EVENTUAL: 3 } };

describe('a replica group of real processes', () => {
  let fleet: ReplicaGroupFleet;

  beforeAll(async () => {
    fleet = await launchReplicaGroup('127.77.61');
  }, 90_000);

  afterAll(async () => fleet?.stop());

  it('creates its group, elects the first member primary and serves writes and STRONG reads there', async () => {
    const group = await fleet.group();
    expect(group.members).toEqual([...replicaNames]);
    expect(group.primary).toBe('replica-1');
    const primary = fleet.shards.get('replica-1') as shardV1.ShardClient;
    const put = await eventually('a first write', 20_000, () =>
      callUnary(primary, primary.put, putRequest('hello', 'world'), { deadlineMs: 2_000 }),
    );
    expect(put.response?.succeeded).toBe(true);
    expect(put.response?.version).toBe(1n);
    const get = await callUnary(
      primary,
      primary.get,
      { groupId: 'group-a', request: { key: 'hello', consistency: Consistency.STRONG, maxStalenessMs: 0 } },
      { deadlineMs: 2_000 },
    );
    expect(Buffer.from(get.response?.kv?.value ?? []).toString()).toBe('world');
    expect(get.response?.header?.memberId).toBe('replica-1');
  }, 60_000);

  it('has a backup refuse writes naming the primary, and serve the value to EVENTUAL reads', async () => {
    const backup = fleet.shards.get('replica-2') as shardV1.ShardClient;
    await expect(callUnary(backup, backup.put, putRequest('k', 'v'), { deadlineMs: 2_000 })).rejects.toMatchObject({
      constructor: NotLeaderError,
      details: { leaderId: 'replica-1' },
    });
    const value = await eventually('the backup to apply the write', 10_000, async () => {
      const get = await callUnary(
        backup,
        backup.get,
        { groupId: 'group-a', request: { key: 'hello', consistency: Consistency.EVENTUAL, maxStalenessMs: 0 } },
        { deadlineMs: 2_000 },
      );
      return get.response?.found ? Buffer.from(get.response.kv?.value ?? []).toString() : undefined;
    });
    expect(value).toBe('world');
  }, 30_000);
});
