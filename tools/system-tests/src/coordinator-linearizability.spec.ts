// Clients read and write the coordinator's metadata concurrently while the
// leader is killed with SIGKILL and restarted; every operation is recorded
// and the history is checked for linearizability (Porcupine-style search in
// @bulwark/history). Each member id is a register: RegisterMember writes its
// address, GetTopology (linearizable, at the leader under its lease) reads it.
import { performance } from 'node:perf_hooks';
import { coordinatorV1 } from '@bulwark/contracts';
import { NotLeaderError } from '@bulwark/errors';
import { checkLinearizability, HistoryRecorder } from '@bulwark/history';
import { seededUniform } from '@bulwark/random';
import { callUnary, createClient } from '@bulwark/rpc';
import { launchComposeFleet, type ComposeFleet } from '@bulwark/fleet';
import { repoPath, repoRoot } from '@bulwark/testing';
import { leaseHolder } from './support/lease-holder';

const clientsCount = 4;
/** Successful operations each client makes; failed attempts are retried, at most attemptsMax in all. */
const operationsPerClient = 60;
const attemptsMax = 2_000;
const keys = ['lin-0', 'lin-1', 'lin-2'];

describe('coordinator metadata under a leader kill', () => {
  let cluster: ComposeFleet;

  afterAll(async () => {
    await cluster?.stop();
  });

  it('is linearizable', async () => {
    cluster = await launchComposeFleet(repoPath('tools/system-tests/fixtures/coordinators-3.compose.yml'), {
      subnet: '127.77.45',
      projectDir: repoRoot,
    });
    const { fleet } = cluster;
    const nameByAddress = new Map(fleet.services().map((service) => [`${service.address}:7001`, service.name]));
    const clients = new Map(
      fleet
        .services()
        .map((service) => [service.name, createClient(coordinatorV1.CoordinatorClient, `${service.address}:7001`)]),
    );
    const names = [...clients.keys()];
    const recorder = new HistoryRecorder(() => performance.now());
    let guess = names[0] as string;
    let nextPort = 40_000;
    let done = 0;
    const waiters: Array<{ count: number; resolve: () => void }> = [];
    const succeededOne = () => {
      done++;
      for (const waiter of waiters.filter((candidate) => done >= candidate.count)) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve();
      }
    };
    /** Resolves once `count` operations have succeeded in all. */
    const reached = (count: number) =>
      new Promise<void>((resolve) => (done >= count ? resolve() : waiters.push({ count, resolve })));
    let killed: string | undefined;
    let killedAtMs = Infinity;
    const random = seededUniform(2026);

    // Start once a leader serves linearizable reads.
    guess = await leaseHolder(clients);

    const runClient = async (client: string) => {
      for (let succeeded = 0, attempts = 0; succeeded < operationsPerClient && attempts < attemptsMax; attempts++) {
        const key = keys[Math.floor(random() * keys.length)] as string;
        const target = guess;
        const coordinator = clients.get(target) as coordinatorV1.CoordinatorClient;
        if (random() < 0.5) {
          const address = `127.0.0.1:${nextPort++}`;
          const pending = recorder.invoke({ client, key, op: 'put', value: address });
          try {
            await callUnary(
              coordinator,
              coordinator.registerMember,
              {
                member: {
                  id: key,
                  address,
                  role: coordinatorV1.MemberRole.MEMBER_ROLE_ROUTER,
                  groupId: '',
                  metricsAddress: '',
                },
                requestId: '',
              },
              { deadlineMs: 2_000 },
            );
            pending.ok();
            succeeded++;
            succeededOne();
          } catch (error) {
            // A follower refuses before proposing: definitely not applied. Anything else may have been.
            if (error instanceof NotLeaderError) pending.fail();
            else pending.unknown();
            await follow(error, target);
          }
        } else {
          const pending = recorder.invoke({ client, key, op: 'get' });
          try {
            const answer = await callUnary(coordinator, coordinator.getTopology, {}, { deadlineMs: 2_000 });
            pending.ok(answer.topology?.members.find((member) => member.id === key)?.address ?? null);
            succeeded++;
            succeededOne();
          } catch (error) {
            pending.fail();
            await follow(error, target);
          }
        }
      }
    };

    /** Retries go to the hinted leader, else the next member; with no leader known, after a short backoff. */
    const follow = async (error: unknown, target: string) => {
      const hinted = error instanceof NotLeaderError ? nameByAddress.get(error.details.leaderAddress ?? '') : undefined;
      const alive = names.filter((name) => name !== killed);
      guess = hinted && hinted !== killed ? hinted : (alive[(alive.indexOf(target) + 1) % alive.length] as string);
      if (!hinted) await new Promise((resolve) => setTimeout(resolve, 20));
    };

    const chaos = async () => {
      const total = clientsCount * operationsPerClient;
      await reached(total / 3);
      const leader = await callUnary(clients.get(guess)!, clients.get(guess)!.getLeader, {}, { deadlineMs: 2_000 });
      killed = leader.leaderId || guess;
      await fleet.kill(killed, 'SIGKILL');
      killedAtMs = performance.now();
      await reached((2 * total) / 3);
      fleet.start(killed);
      await fleet.waitHealthy(30_000, [killed]);
      killed = undefined;
    };

    await Promise.all([chaos(), ...Array.from({ length: clientsCount }, (_, index) => runClient(`client-${index}`))]);
    for (const client of clients.values()) client.close();

    const operations = recorder.operations;
    const succeeded = operations.filter((operation) => operation.outcome === 'ok');
    expect(succeeded.filter((operation) => operation.op === 'put').length).toBeGreaterThan(20);
    expect(succeeded.filter((operation) => operation.op === 'get' && operation.result !== null).length).toBeGreaterThan(
      20,
    );
    // The cluster kept serving: writes and reads succeeded after the leader was killed.
    expect(succeeded.some((operation) => operation.op === 'put' && operation.invokedMs > killedAtMs)).toBe(true);
    expect(succeeded.some((operation) => operation.op === 'get' && operation.invokedMs > killedAtMs)).toBe(true);
    const verdict = checkLinearizability(operations);
    expect(verdict).toMatchObject({ verdict: 'linearizable' });
  }, 180_000);
});
