// A follower killed (-9) and restarted while the leader commits at 64 in
// flight: how long until it has applied everything committed while it was
// down. Catch-up must outrun the commit rate, or the follower never returns.
import { performance } from 'node:perf_hooks';
import { coordinatorV1 } from '@bulwark/contracts';
import type { Fleet } from '@bulwark/fleet';
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

/** RegisterMember at `inFlight` through the leader until stopped; returns how many committed. */
function startLoad(client: coordinatorV1.CoordinatorClient, inFlight: number) {
  let stopped = false;
  let committed = 0;
  let issued = 0;
  const worker = async () => {
    while (!stopped) {
      const n = issued++;
      const member = n % 64;
      await callUnary(
        client,
        client.registerMember,
        {
          member: {
            id: `catch-up-${member}`,
            address: `127.0.0.1:${40_000 + member * 100 + (Math.floor(n / 64) % 100)}`,
            role: coordinatorV1.MemberRole.MEMBER_ROLE_ROUTER,
            groupId: '',
          },
          requestId: '',
        },
        { deadlineMs: 10_000 },
      );
      committed++;
    }
  };
  const workers = Promise.all(Array.from({ length: inFlight }, worker));
  return {
    committed: () => committed,
    stop: async () => {
      stopped = true;
      await workers;
    },
  };
}

export async function measureFollowerCatchUp(
  fleet: Fleet,
  clients: ReadonlyMap<string, coordinatorV1.CoordinatorClient>,
  leader: string,
): Promise<CatchUpResult> {
  const follower = [...clients.keys()].find((name) => name !== leader) as string;
  const leaderClient = clients.get(leader) as coordinatorV1.CoordinatorClient;
  const followerClient = clients.get(follower) as coordinatorV1.CoordinatorClient;
  const load = startLoad(leaderClient, loadInFlight);
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
