// coordinator.v1 served on a free loopback port over a FakeRunner and a
// real MetadataReplica whose monotonic clock the test sets, with a client,
// and the automatic failover over the same clock, which asks members for
// their durable state over real gRPC and runs when the test calls
// failovers.check() (its timer is not started).
import { coordinatorV1 } from '@bulwark/contracts';
import { createLogger } from '@bulwark/logging';
import { callUnary, createClient, startServer, type RunningServer, type UnaryMethod } from '@bulwark/rpc';
import { coordinatorService } from '../lib/coordinator-service';
import { GrpcDurableStates } from '../lib/durable-states';
import { Failovers } from '../lib/failovers';
import { GrpcMemberProbe } from '../lib/member-probe';
import { MetadataReplica } from '../lib/metadata-replica';
import type { WatchLimits } from '../lib/watch-topology';
import { FakeRunner } from './fake-runner';

export interface ServedCoordinator {
  readonly runner: FakeRunner;
  readonly replica: MetadataReplica;
  readonly client: coordinatorV1.CoordinatorClient;
  /** The monotonic clock of the replica's lease grants, in ms; set it to move time. */
  readonly clock: { nowMs: number };
  /** The automatic failover; check() looks at every group once and resolves when its rounds have settled. */
  readonly failovers: Failovers;
  /** Resolves once `holds()` is true of the applied state (checked now and after every change); rejects after 10 s. */
  until(holds: () => boolean): Promise<void>;
  /** Calls a method of `client` (as `call(client.failover, request)`) with a 10 s deadline. */
  call<Req, Res>(method: UnaryMethod<Req, Res>, request: Req): Promise<Res>;
  stop(): Promise<void>;
}

export interface ServeOptions {
  primaryLeaseMs?: number;
  clockDriftMs?: number;
  watchLimits?: WatchLimits;
}

export async function serveCoordinator(options: ServeOptions = {}): Promise<ServedCoordinator> {
  const clock = { nowMs: 0 };
  const replica = new MetadataReplica(() => clock.nowMs);
  const runner = new FakeRunner(replica);
  const logger = createLogger({ service: 'test', memberId: 'c1', level: 'fatal' });
  const primaryLeaseMs = options.primaryLeaseMs ?? 5_000;
  const failovers = new Failovers({
    runner,
    replica,
    durableStates: new GrpcDurableStates(logger),
    logger,
    primaryLeaseMs,
    clockDriftMs: options.clockDriftMs ?? 500,
    nowMs: () => clock.nowMs,
  });
  const memberProbe = new GrpcMemberProbe();
  let server: RunningServer | undefined;
  server = await startServer(
    // Large enough for the oversized requests the tests send: the service must refuse them itself.
    { address: '127.0.0.1:0', logger, drainDeadlineMs: 1_000, receiveMessageBytesMax: 64 * 1024 * 1024 },
    (kit) => [
      coordinatorService(kit, {
        memberId: 'c1',
        runner,
        replica,
        logger,
        addresses: new Map([['c1', '127.0.0.1:1']]),
        primaryLeaseMs,
        failovers,
        memberProbe,
        watchLimits: options.watchLimits,
      }),
    ],
  );
  const client = createClient(coordinatorV1.CoordinatorClient, `127.0.0.1:${server.port}`);
  return {
    runner,
    replica,
    client,
    clock,
    failovers,
    until: async (holds) => {
      if (!(await replica.whenApplied(holds, 10_000))) throw new Error('the awaited state was not applied within 10 s');
    },
    call: (method, request) => callUnary(client, method, request, { deadlineMs: 10_000 }),
    stop: async () => {
      failovers.stop();
      memberProbe.close();
      client.close();
      await server?.drain('test done');
      server = undefined;
    },
  };
}
