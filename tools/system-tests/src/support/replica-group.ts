// A replica group of 3 and its coordinators, launched from a fixture compose
// file by the launcher library users use, with a client per replica and
// helpers to find the primary and wait for what has no event to await.
import { coordinatorV1, shardV1 } from '@bulwark/contracts';
import { isRetryable } from '@bulwark/errors';
import { launchComposeFleet, type ComposeFleet } from '@bulwark/fleet';
import { callUnary, createClient } from '@bulwark/rpc';
import { repoPath, repoRoot } from '@bulwark/testing';

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

export async function launchReplicaGroup(subnet: string, mode: 'sync' | 'async' = 'sync'): Promise<ReplicaGroupFleet> {
  const file = mode === 'sync' ? 'replica-group.compose.yml' : 'replica-group-async.compose.yml';
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
      for (const client of [...shards.values(), ...coordinators]) client.close();
      await launched.stop();
    },
  };
}

/** Bounded wait for something only observable by asking (a failover has no event a test can await). */
export async function eventually<T>(
  what: string,
  timeoutMs: number,
  attempt: () => Promise<T | undefined>,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const result = await attempt();
      if (result !== undefined) return result;
    } catch (error) {
      if (!isRetryable(error) && !(error instanceof AggregateError)) throw error;
      last = error;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`${what} not within ${timeoutMs} ms; last error: ${String(last)}`);
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
