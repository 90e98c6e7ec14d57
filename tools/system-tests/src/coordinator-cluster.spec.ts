// Real coordinator processes, run by the launcher library from a compose
// file like the fleet's: a leader is elected; kill -9 the leader and a new
// one serves writes; the killed member restarts and catches up with every
// committed change. With 5 peers, two kills in a row.
import { Metadata } from '@grpc/grpc-js';
import { coordinatorV1 } from '@bulwark/contracts';
import { NotLeaderError } from '@bulwark/errors';
import { callUnary, createClient } from '@bulwark/rpc';
import { launchComposeFleet, type Fleet } from '@bulwark/fleet';
import { repoPath, repoRoot } from '@bulwark/testing';
import { eventually } from './support/eventually';

const { MemberRole } = coordinatorV1;

interface Cluster {
  fleet: Fleet;
  names: string[];
  address(name: string): string;
  stop(): Promise<void>;
}

async function launchCoordinators(members: 3 | 5, subnet: string): Promise<Cluster> {
  const launched = await launchComposeFleet(
    repoPath(`tools/system-tests/fixtures/coordinators-${members}.compose.yml`),
    { subnet, projectDir: repoRoot },
  );
  const names = launched.fleet.services().map((service) => service.name);
  return { fleet: launched.fleet, names, address: (name) => launched.address(name, 7001), stop: launched.stop };
}

function withClient<T>(address: string, use: (client: coordinatorV1.CoordinatorClient) => Promise<T>): Promise<T> {
  const client = createClient(coordinatorV1.CoordinatorClient, address);
  return use(client).finally(() => client.close());
}

let nextPort = 9000;

/** Registers a member through whichever coordinator leads, following leader hints. */
async function register(cluster: Cluster, alive: string[], id: string): Promise<bigint> {
  const address = `127.0.0.1:${nextPort++}`;
  return eventually(`registering ${id}`, 20_000, async () => {
    for (const name of alive) {
      try {
        const response = await withClient(cluster.address(name), (client) =>
          callUnary(
            client,
            client.registerMember,
            {
              member: {
                id,
                address,
                role: MemberRole.MEMBER_ROLE_ROUTER,
                groupId: '',
                metricsAddress: '',
              },
              requestId: '',
            },
            { deadlineMs: 2_000 },
          ),
        );
        return response.header?.revision;
      } catch (error) {
        if (!(error instanceof NotLeaderError)) throw error;
      }
    }
    return undefined;
  });
}

async function leaderOf(cluster: Cluster, alive: string[]): Promise<string> {
  return eventually('an agreed leader', 20_000, async () => {
    const answers = await Promise.all(
      alive.map((name) =>
        withClient(cluster.address(name), (client) => callUnary(client, client.getLeader, {}, { deadlineMs: 2_000 })),
      ),
    );
    const leader = answers[0]?.leaderId;
    return leader && answers.every((answer) => answer.leaderId === leader) ? leader : undefined;
  });
}

/** Watches a member's own applied state until it reaches `revision`; returns the members it then knows. */
function caughtUp(address: string, revision: bigint, timeoutMs: number): Promise<string[]> {
  const client = createClient(coordinatorV1.CoordinatorClient, address);
  return new Promise<string[]>((resolve, reject) => {
    const members = new Set<string>();
    const stream = client.watchTopology({ startRevision: 0n }, new Metadata({ waitForReady: true }), {
      deadline: Date.now() + timeoutMs,
    });
    stream.on('data', (response: coordinatorV1.WatchTopologyResponse) => {
      for (const member of response.snapshot?.members ?? []) members.add(member.id);
      for (const event of response.events) {
        if (event.change?.$case === 'memberRegistered') members.add(event.change.memberRegistered.id);
      }
      const reached = response.events.at(-1)?.revision ?? response.snapshot?.revision ?? 0n;
      if (reached >= revision) {
        stream.cancel();
        client.close();
        resolve([...members].sort());
      }
    });
    stream.on('error', (error: Error) => {
      client.close();
      reject(error);
    });
  });
}

describe.each([
  [3, '127.77.41', 1],
  [5, '127.77.42', 2],
] as const)('%i coordinators', (members, subnet, kills) => {
  let cluster: Cluster;

  beforeAll(async () => {
    cluster = await launchCoordinators(members, subnet);
  }, 90_000);

  afterAll(async () => {
    await cluster?.stop();
  });

  it(`elects a leader, survives ${kills} kill -9 of the leader with a follower's watch carrying on, and the killed catch up`, async () => {
    let alive = [...cluster.names];
    const written: string[] = [];
    let leader = await leaderOf(cluster, alive);
    for (const id of ['before-a', 'before-b', 'before-c']) {
      await register(cluster, alive, id);
      written.push(id);
    }
    // A watch on a follower, opened before the leader dies, keeps delivering after it.
    const watcher = createClient(
      coordinatorV1.CoordinatorClient,
      cluster.address(alive.find((name) => name !== leader) as string),
    );
    const watch = watcher.watchTopology({ startRevision: 0n }, new Metadata());
    const watchedAfterKill = new Promise<void>((resolve, reject) => {
      watch.on('data', (response: coordinatorV1.WatchTopologyResponse) => {
        const registered = response.events.map((event) =>
          event.change?.$case === 'memberRegistered' ? event.change.memberRegistered.id : '',
        );
        if (registered.includes('after-kill-0')) resolve();
      });
      watch.on('error', reject);
    });
    const killed: string[] = [];
    for (let round = 0; round < kills; round++) {
      await cluster.fleet.kill(leader, 'SIGKILL');
      killed.push(leader);
      alive = alive.filter((name) => name !== leader);
      const id = `after-kill-${round}`;
      await register(cluster, alive, id);
      written.push(id);
      const next = await leaderOf(cluster, alive);
      expect(killed).not.toContain(next);
      leader = next;
      if (round === 0) {
        await watchedAfterKill;
        watch.cancel();
        watcher.close();
      }
    }
    const lastRevision = await register(cluster, alive, 'last');
    written.push('last');
    for (const name of killed) cluster.fleet.start(name);
    await cluster.fleet.waitHealthy(60_000, killed);
    for (const name of killed) {
      const known = await caughtUp(cluster.address(name), lastRevision, 30_000);
      expect(known).toEqual(expect.arrayContaining(written));
    }
  }, 180_000);
});
