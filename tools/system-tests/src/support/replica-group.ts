// A replica group of 3 and its coordinators, launched from a fixture compose
// file by the launcher library users use, with a client per replica and
// helpers to find the primary and wait for what has no event to await.
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { formatHistoryJsonLines, type HistoryOperation } from '@bulwark/history';
import { coordinatorV1, kvV1, replicationV1, shardV1 } from '@bulwark/contracts';
import { launchComposeFleet, type ComposeFleet } from '@bulwark/fleet';
import { callUnary, createClient } from '@bulwark/rpc';
import { repoPath, repoRoot } from '@bulwark/testing';
import { eventually } from './eventually';
import { stopWorkloads } from './kv-workload';

export { eventually };

export const replicaNames = ['replica-1', 'replica-2', 'replica-3'] as const;
export type ReplicaName = (typeof replicaNames)[number];

export interface ReplicaGroupFleet {
  readonly launched: ComposeFleet;
  readonly shards: ReadonlyMap<ReplicaName, shardV1.ShardClient>;
  readonly coordinators: readonly coordinatorV1.CoordinatorClient[];
  /** The group's record as the coordinators' leader has it (GetTopology). */
  group(): Promise<coordinatorV1.ReplicaGroup>;
  stop(): Promise<void>;
}

/** sync, async: the group's mode; snapshots: a sync group that snapshots every 200 entries or so, keeping 20. */
export type ReplicaGroupFixture = 'sync' | 'async' | 'snapshots';

const fixtureFiles: Record<ReplicaGroupFixture, string> = {
  sync: 'replica-group.compose.yml',
  async: 'replica-group-async.compose.yml',
  snapshots: 'replica-group-snapshots.compose.yml',
};

export async function launchReplicaGroup(
  subnet: string,
  fixture: ReplicaGroupFixture = 'sync',
): Promise<ReplicaGroupFleet> {
  const file = fixtureFiles[fixture];
  const launched = await launchComposeFleet(repoPath(`tools/system-tests/fixtures/${file}`), {
    subnet,
    projectDir: repoRoot,
  });
  const shards = new Map(
    replicaNames.map((name) => [name, createClient(shardV1.ShardClient, launched.address(name, 7100))] as const),
  );
  const coordinators = ['coordinator-1', 'coordinator-2', 'coordinator-3'].map((name) =>
    createClient(coordinatorV1.CoordinatorClient, launched.address(name, 7001)),
  );
  const group = () =>
    eventually('the group record', 20_000, async () => {
      const topology = await Promise.any(
        coordinators.map((client) => callUnary(client, client.getTopology, {}, { deadlineMs: 1_000 })),
      );
      return topology.topology?.groups.find((candidate) => candidate.id === 'group-a');
    });
  return {
    launched,
    shards,
    coordinators,
    group,
    stop: async () => {
      await stopWorkloads();
      for (const client of [...shards.values(), ...coordinators]) client.close();
      await launched.stop();
    },
  };
}

export function putRequest(
  key: string,
  value: string,
  extra: Partial<shardV1.PutRequest['request']> = {},
): shardV1.PutRequest {
  return {
    groupId: 'group-a',
    request: {
      key,
      value: Buffer.from(value),
      durability: 0,
      fence: undefined,
      requestId: '',
      ...extra,
    },
  };
}

/** A member's durable log end (replication.v1 GetDurableState). */
export async function durableState(
  fleet: ReplicaGroupFleet,
  name: ReplicaName,
): Promise<{ sequence: bigint; epoch: bigint }> {
  const client = createClient(replicationV1.ReplicationClient, fleet.launched.address(name, 7100));
  try {
    const answer = await callUnary(client, client.getDurableState, { groupId: 'group-a' }, { deadlineMs: 2_000 });
    return { sequence: answer.durableSequence, epoch: answer.lastEpoch };
  } finally {
    client.close();
  }
}

/**
 * A member's applied state read through EVENTUAL scans: the sequence it
 * reflects and a digest of every key, value and version, to compare members.
 */
export async function stateDigest(
  fleet: ReplicaGroupFleet,
  name: ReplicaName,
): Promise<{ sequence: bigint; digest: string; keys: number }> {
  const shard = fleet.shards.get(name) as shardV1.ShardClient;
  const hash = createHash('sha256');
  let startKey = '';
  let sequence: bigint | undefined;
  let keys = 0;
  for (;;) {
    const page = await callUnary(
      shard,
      shard.scan,
      {
        groupId: 'group-a',
        prefix: '',
        startKey,
        endKey: '',
        limit: 1_000,
        consistency: kvV1.Consistency.CONSISTENCY_EVENTUAL,
        maxStalenessMs: 0,
      },
      { deadlineMs: 5_000 },
    );
    // Pages of one digest must come from one applied state.
    if (sequence !== undefined && page.header?.sequence !== sequence)
      throw new Error(`${name} applied more while scanned`);
    sequence = page.header?.sequence ?? 0n;
    for (const kv of page.kvs) {
      hash.update(`${kv.key}\0${Buffer.from(kv.value).toString('hex')}\0${kv.version}\0${kv.modSequence}\n`);
      keys++;
    }
    if (page.nextStartKey === '') break;
    startKey = page.nextStartKey;
  }
  return { sequence: sequence ?? 0n, digest: hash.digest('hex'), keys };
}

/** Eight keys of a test's own (see WorkloadOptions.keys). */
export function keysOf(prefix: string): string[] {
  return Array.from({ length: 8 }, (_, index) => `${prefix}${index}`);
}

/** Writes a history as check-history JSON lines under tmp/histories, kept for other checkers; returns the file. */
export function writeHistory(name: string, history: readonly HistoryOperation[]): string {
  const directory = repoPath('tmp/histories');
  mkdirSync(directory, { recursive: true });
  const file = join(directory, `${name}-${Date.now()}.jsonl`);
  writeFileSync(file, formatHistoryJsonLines(history));
  return file;
}

/** Pauses (SIGSTOP) or resumes (SIGCONT) a member the fleet started. */
export function signal(fleet: ReplicaGroupFleet, name: string, which: 'SIGSTOP' | 'SIGCONT'): void {
  const pid = fleet.launched.fleet.service(name).pid;
  if (pid === undefined) throw new Error(`${name} is not running`);
  process.kill(pid, which);
}
