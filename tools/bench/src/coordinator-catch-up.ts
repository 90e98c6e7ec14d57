// A follower killed (-9) and restarted while the leader commits at 64 in
// flight: how long until it has applied everything committed while it was
// down. Catch-up must outrun the commit rate, or the follower never returns.
import { performance } from 'node:perf_hooks';
import { coordinatorV1 } from '@bulwark/contracts';
import type { Fleet } from '@bulwark/fleet';
import { startRegistrationLoad } from './registration-load';
import { callUnary } from '@bulwark/rpc';

const loadInFlight = 64;
/** Load before the kill, and while the follower is down (about this many ms of commits to catch up). */
const loadBeforeKillMs = 1_000;
const downMs = 1_000;
const catchUpTimeoutMs = 30_000;
const pollMs = 10;

export interface CatchUpResult {
  missedRevisions: number;
  startToHealthyMs: number;
  startToCaughtUpMs: number;
  loadCommandsPerS: number;
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function appliedRevision(client: coordinatorV1.CoordinatorClient): Promise<bigint | undefined> {
  // Any member answers GetLeader from the state it has applied.
  const answer = await callUnary(client, client.getLeader, {}, { deadlineMs: 1_000 }).catch(() => undefined);
  return answer?.header?.revision;
}

export async function measureFollowerCatchUp(
  fleet: Fleet,
  clients: ReadonlyMap<string, coordinatorV1.CoordinatorClient>,
  leader: string,
): Promise<CatchUpResult> {
  const follower = [...clients.keys()].find((name) => name !== leader) as string;
  const leaderClient = clients.get(leader) as coordinatorV1.CoordinatorClient;
  const followerClient = clients.get(follower) as coordinatorV1.CoordinatorClient;
  const load = startRegistrationLoad(leaderClient, { inFlight: loadInFlight, idPrefix: 'catch-up', portBase: 40_000 });
  const loadStarted = performance.now();
  try {
    await pause(loadBeforeKillMs);
    const before = (await appliedRevision(followerClient)) ?? 0n;
    await fleet.kill(follower, 'SIGKILL');
    await pause(downMs);
    const target = (await appliedRevision(leaderClient)) ?? 0n;
    const startedAt = performance.now();
    fleet.start(follower);
    await fleet.waitHealthy(catchUpTimeoutMs, [follower]);
    const healthyAt = performance.now();
    for (;;) {
      const applied = await appliedRevision(followerClient);
      if (applied !== undefined && applied >= target) break;
      if (performance.now() - startedAt > catchUpTimeoutMs) {
        throw new Error(`${follower} did not catch up within ${catchUpTimeoutMs} ms (at ${applied}, target ${target})`);
      }
      await pause(pollMs);
    }
    const caughtUpAt = performance.now();
    return {
      missedRevisions: Number(target - before),
      startToHealthyMs: Math.round(healthyAt - startedAt),
      startToCaughtUpMs: Math.round(caughtUpAt - startedAt),
      loadCommandsPerS: Math.round(load.committed() / ((caughtUpAt - loadStarted) / 1_000)),
    };
  } finally {
    await load.stop();
  }
}
