// The router benchmark's fleet: the replica benchmarks' fleet (3
// coordinators, group-a's 3 replicas) plus one router, from
// tools/bench/fixtures/router.compose.yml, with a kv.v1 client to the router.
// Ready once the router has acknowledged a Put: it has the topology from the
// coordinators, group-a is on its ring, and the group's primary holds its
// lease.
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { kvV1 } from '@bulwark/contracts';
import { callUnary, createClient } from '@bulwark/rpc';
import { checkPutResponse, newCellId, putRequestOf } from './kv-cells';
import { launchReplicaFleetFrom, repoRoot, type ReplicaFleet } from './replica-fleet';

export const routerName = 'router-1';
const routerPort = 7200;
/** How long a fresh fleet's router may take to acknowledge its first Put. */
const readyTimeoutMs = 60_000;
/** Between attempts at that first Put. */
const retryPauseMs = 50;

export interface RouterFleet {
  /** The coordinators and replicas, with shard.v1 clients; its cpu() includes the routers. */
  readonly replicas: ReplicaFleet;
  /** kv.v1 client to the first router. */
  readonly kv: kvV1.KVClient;
  /** kv.v1 clients to every router, in the order named. */
  readonly kvs: readonly kvV1.KVClient[];
  stop(): Promise<void>;
}

export interface RouterFleetShape {
  /** The compose file, from the repository root. */
  readonly composeFile: string;
  /** Its routers' service names. */
  readonly routers: readonly string[];
}

/** The router benchmark's fleet: one router. */
export const oneRouter: RouterFleetShape = {
  composeFile: 'tools/bench/fixtures/router.compose.yml',
  routers: [routerName],
};

export async function launchRouterFleet(subnet: string, shape: RouterFleetShape = oneRouter): Promise<RouterFleet> {
  const replicas = await launchReplicaFleetFrom(join(repoRoot, shape.composeFile), subnet);
  const kvs = shape.routers.map((name) => createClient(kvV1.KVClient, replicas.launched.address(name, routerPort)));
  const fleet: RouterFleet = {
    replicas,
    kv: kvs[0] as kvV1.KVClient,
    kvs,
    stop: async () => {
      for (const kv of kvs) kv.close();
      await replicas.stop();
    },
  };
  try {
    // Every router has the topology and the group a leased primary.
    for (const kv of kvs) await firstRoutedPut(kv);
  } catch (error) {
    await fleet.stop();
    throw error;
  }
  return fleet;
}

/** Puts through the router until one is acknowledged; rejects with the last error after readyTimeoutMs. */
async function firstRoutedPut(kv: kvV1.KVClient): Promise<void> {
  const deadline = performance.now() + readyTimeoutMs;
  const request = putRequestOf(0, newCellId());
  for (;;) {
    try {
      const leftMs = Math.max(1, Math.min(5_000, deadline - performance.now()));
      checkPutResponse(await callUnary(kv, kv.put, request, { deadlineMs: leftMs }));
      return;
    } catch (error) {
      // Anything may fail while the router has no topology or the group no leased primary: try again until the deadline.
      if (performance.now() > deadline) {
        throw new Error(`the router acknowledged no Put within ${readyTimeoutMs} ms (last: ${String(error)})`);
      }
      await new Promise((resolveWait) => setTimeout(resolveWait, retryPauseMs));
    }
  }
}
