// Replica group members as the coordinator's failover sees them: each a
// real gRPC server on a free loopback port serving
// replication.v1.Replication/GetDurableState with what the test sets (an
// answer, or silence until the caller's deadline, or held until the test
// releases it). The other Replication methods answer UNIMPLEMENTED.
import { coordinatorV1, replicationV1, type commonV1 } from '@bulwark/contracts';
import { CancelledError } from '@bulwark/errors';
import { createLogger } from '@bulwark/logging';
import { notImplemented, startServer, type HandlerKit, type RunningServer } from '@bulwark/rpc';
import type { ServedCoordinator } from './serve-coordinator';

/** What a fake member does with GetDurableState. */
export type DurableBehaviour =
  | { readonly type: 'answer'; readonly lastEpoch: bigint; readonly durableSequence: bigint }
  /** Never answers: the caller's deadline ends the call. */
  | { readonly type: 'silent' }
  /** Answers as `answer` once the test calls release() (a slow member). */
  | { readonly type: 'held'; readonly answer: { readonly lastEpoch: bigint; readonly durableSequence: bigint } };

export interface FakeReplica {
  readonly id: string;
  /** 127.0.0.1:port, to register the member with. */
  readonly address: string;
  behaviour: DurableBehaviour;
  /** GetDurableState calls received, in order, by group id. */
  readonly asked: string[];
  /** Resolves held calls with their answers. */
  release(): void;
  /** Resolves when the next GetDurableState call arrives. */
  nextCall(): Promise<void>;
  /** Silent again, with nothing asked (between tests). */
  reset(): void;
}

export interface FakeReplicas {
  readonly byId: ReadonlyMap<string, FakeReplica>;
  get(id: string): FakeReplica;
  /** Sets what each listed member answers: [last_epoch, durable_sequence], or 'silent'. */
  answer(answers: Readonly<Record<string, readonly [bigint, bigint] | 'silent'>>): void;
  /** GetDurableState calls received by all members so far. */
  askedCount(): number;
  /** Every member silent, with nothing asked. */
  reset(): void;
  stop(): Promise<void>;
}

/** One fake member; its server is started by serveFakeReplicas. */
class Fake implements FakeReplica {
  address = '';
  behaviour: DurableBehaviour = { type: 'silent' };
  readonly asked: string[] = [];
  private held: (() => void)[] = [];
  private callWaiters: (() => void)[] = [];

  constructor(readonly id: string) {}

  release(): void {
    const held = this.held;
    this.held = [];
    for (const answer of held) answer();
  }

  nextCall(): Promise<void> {
    return new Promise<void>((resolve) => this.callWaiters.push(resolve));
  }

  reset(): void {
    this.release();
    this.behaviour = { type: 'silent' };
    this.asked.length = 0;
  }

  implementation(kit: HandlerKit): replicationV1.ReplicationServer {
    const header = (epoch: bigint, sequence: bigint): commonV1.ResponseHeader => ({
      memberId: this.id,
      epoch,
      ballot: undefined,
      revision: 0n,
      sequence,
      groupId: '',
    });
    return {
      replicate: kit.bidiStream(notImplemented('Replicate')),
      fetchSnapshot: kit.serverStream(notImplemented('FetchSnapshot')),
      getStatus: kit.unary(notImplemented('GetStatus')),
      getDurableState: kit.unary(async (request: replicationV1.GetDurableStateRequest, call) => {
        this.asked.push(request.groupId);
        const arrived = this.callWaiters;
        this.callWaiters = [];
        for (const resolve of arrived) resolve();
        const behaviour = this.behaviour;
        if (behaviour.type === 'answer') {
          const { lastEpoch, durableSequence } = behaviour;
          return { header: header(lastEpoch, durableSequence), lastEpoch, durableSequence };
        }
        // Silent or held: until released, or until the caller gives up (its deadline cancels the call).
        await new Promise<void>((resolve) => {
          call.on('cancelled', () => resolve());
          if (behaviour.type === 'held') this.held.push(resolve);
        });
        if (behaviour.type === 'silent' || call.cancelled) throw new CancelledError('the caller gave up');
        const { lastEpoch, durableSequence } = behaviour.answer;
        return { header: header(lastEpoch, durableSequence), lastEpoch, durableSequence };
      }),
    };
  }
}

/** Starts one fake member per id, each silent until the test sets its behaviour. */
export async function serveFakeReplicas(ids: readonly string[]): Promise<FakeReplicas> {
  const logger = createLogger({ service: 'test-replica', memberId: 'fake', level: 'fatal' });
  const servers: RunningServer[] = [];
  const byId = new Map<string, FakeReplica>();
  for (const id of ids) {
    const fake = new Fake(id);
    const server = await startServer({ address: '127.0.0.1:0', logger, drainDeadlineMs: 200 }, (kit) => [
      { definition: replicationV1.ReplicationService, implementation: fake.implementation(kit) },
    ]);
    servers.push(server);
    fake.address = `127.0.0.1:${server.port}`;
    byId.set(id, fake);
  }
  const get = (id: string): FakeReplica => {
    const replica = byId.get(id);
    if (!replica) throw new Error(`no fake replica '${id}'`);
    return replica;
  };
  return {
    byId,
    get,
    answer: (answers) => {
      for (const [id, answer] of Object.entries(answers)) {
        get(id).behaviour =
          answer === 'silent'
            ? { type: 'silent' }
            : { type: 'answer', lastEpoch: answer[0], durableSequence: answer[1] };
      }
    },
    askedCount: () => [...byId.values()].reduce((count, replica) => count + replica.asked.length, 0),
    reset: () => {
      for (const replica of byId.values()) replica.reset();
    },
    stop: async () => {
      // Held calls end first, so the drain need not force them.
      for (const replica of byId.values()) replica.release();
      await Promise.all(servers.map((server) => server.drain('test done')));
    },
  };
}

/**
 * Registers each fake as a replica of `groupId` at its address and creates
 * the group of them (the first is primary); returns the group's first epoch.
 */
export async function createFakeGroup(
  served: ServedCoordinator,
  replicas: FakeReplicas,
  groupId = 'g1',
): Promise<bigint> {
  const { call, client } = served;
  for (const replica of replicas.byId.values()) {
    const member = {
      id: replica.id,
      address: replica.address,
      role: coordinatorV1.MemberRole.MEMBER_ROLE_REPLICA,
      groupId,
      metricsAddress: '',
    };
    await call(client.registerMember, { member, requestId: '' });
  }
  const created = await call(client.createGroup, {
    groupId,
    members: [...replicas.byId.keys()],
    mode: coordinatorV1.ReplicationMode.REPLICATION_MODE_SYNC,
    requestId: '',
  });
  return created.group?.epoch as bigint;
}
