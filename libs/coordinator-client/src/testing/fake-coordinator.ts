// A coordinator.v1 server on a free loopback port whose answers the test
// decides: each unary method answers UNIMPLEMENTED until the test sets a
// handler, every request is recorded, and each WatchTopology stream is
// handed to the test to write to, fail or end. The real coordinators live
// in another scope (and start as a Paxos group only as processes), so the
// client's tests talk to this over real gRPC instead.
import type { ServerWritableStream } from '@grpc/grpc-js';
import { coordinatorV1 } from '@bulwark/contracts';
import { UnimplementedError, type BulwarkError } from '@bulwark/errors';
import { createLogger } from '@bulwark/logging';
import { startServer, untilCallEnds, type HandlerContext, type HandlerKit } from '@bulwark/rpc';
import type { CoordinatorMethod, CoordinatorRequest, CoordinatorResponse } from '../lib/coordinator-caller';

export type FakeHandler<M extends CoordinatorMethod> = (
  request: CoordinatorRequest<M>,
  context: HandlerContext,
) => CoordinatorResponse<M> | Promise<CoordinatorResponse<M>>;

/** One WatchTopology stream as the server sees it. */
export interface FakeWatch {
  readonly startRevision: bigint;
  send(response: Partial<coordinatorV1.WatchTopologyResponse>): void;
  /** Ends the stream with the error's status, as a member failing mid-stream does. */
  fail(error: BulwarkError): void;
  /** Resolves when the stream is over, whoever ended it. */
  readonly ended: Promise<void>;
}

export interface FakeCoordinator {
  readonly address: string;
  /** Every unary request, in arrival order. */
  readonly received: { method: CoordinatorMethod; request: unknown }[];
  answer<M extends CoordinatorMethod>(method: M, handler: FakeHandler<M>): void;
  /** The requests one method received. */
  requests<M extends CoordinatorMethod>(method: M): CoordinatorRequest<M>[];
  /** Forgets the handlers and the recorded requests. */
  reset(): void;
  /** Resolves with the next WatchTopology stream opened (or the oldest one not yet taken). */
  nextWatch(): Promise<FakeWatch>;
  /** Stops serving: open streams end, later calls find nothing listening. */
  stop(): Promise<void>;
}

const header = (revision: bigint) => ({
  memberId: 'fake',
  epoch: 0n,
  ballot: undefined,
  revision,
  sequence: 0n,
  groupId: '',
});

export async function startFakeCoordinator(): Promise<FakeCoordinator> {
  const logger = createLogger({ service: 'test', memberId: 'fake', level: 'fatal' });
  const handlers = new Map<CoordinatorMethod, FakeHandler<CoordinatorMethod>>();
  const received: FakeCoordinator['received'] = [];
  const watches: FakeWatch[] = [];
  const watchWaiters: ((watch: FakeWatch) => void)[] = [];

  const unary = <M extends CoordinatorMethod>(kit: HandlerKit, method: M) =>
    kit.unary<CoordinatorRequest<M>, CoordinatorResponse<M>>((request, _call, context) => {
      received.push({ method, request });
      const handler = handlers.get(method) as FakeHandler<M> | undefined;
      if (!handler) throw new UnimplementedError(method);
      return handler(request, context);
    });

  const server = await startServer({ address: '127.0.0.1:0', logger, drainDeadlineMs: 1_000 }, (kit) => {
    const implementation: coordinatorV1.CoordinatorServer = {
      getLeader: unary(kit, 'getLeader'),
      getTopology: unary(kit, 'getTopology'),
      registerMember: unary(kit, 'registerMember'),
      deregisterMember: unary(kit, 'deregisterMember'),
      reportSuspect: unary(kit, 'reportSuspect'),
      failover: unary(kit, 'failover'),
      createGroup: unary(kit, 'createGroup'),
      deleteGroup: unary(kit, 'deleteGroup'),
      setRing: unary(kit, 'setRing'),
      renewPrimaryLease: unary(kit, 'renewPrimaryLease'),
      updateInSyncSet: unary(kit, 'updateInSyncSet'),
      watchTopology: kit.serverStream(
        async (
          request: coordinatorV1.WatchTopologyRequest,
          call: ServerWritableStream<coordinatorV1.WatchTopologyRequest, coordinatorV1.WatchTopologyResponse>,
          { shutdown },
        ) => {
          const stopped = new AbortController();
          let failure: BulwarkError | undefined;
          const ended = untilCallEnds(call, AbortSignal.any([shutdown, stopped.signal]));
          const watch: FakeWatch = {
            startRevision: request.startRevision,
            send: (response) => {
              const revision = response.snapshot?.revision ?? response.events?.at(-1)?.revision ?? 0n;
              call.write({ header: header(revision), snapshot: undefined, events: [], ...response });
            },
            fail: (error) => {
              failure = error;
              stopped.abort();
            },
            ended,
          };
          const waiter = watchWaiters.shift();
          if (waiter) waiter(watch);
          else watches.push(watch);
          await ended;
          // The kit answers it with the status a failing member would send.
          if (failure) throw failure;
        },
      ),
    };
    return [{ definition: coordinatorV1.CoordinatorService, implementation }];
  });

  return {
    address: `127.0.0.1:${server.port}`,
    received,
    answer: (method, handler) => handlers.set(method, handler as FakeHandler<CoordinatorMethod>),
    requests: <M extends CoordinatorMethod>(method: M) =>
      received.filter((entry) => entry.method === method).map((entry) => entry.request as CoordinatorRequest<M>),
    reset: () => {
      handlers.clear();
      received.length = 0;
    },
    nextWatch: () => {
      const waiting = watches.shift();
      return waiting ? Promise.resolve(waiting) : new Promise<FakeWatch>((resolve) => watchWaiters.push(resolve));
    },
    stop: () => server.drain('test done'),
  };
}
