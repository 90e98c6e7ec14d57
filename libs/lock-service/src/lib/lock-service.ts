// lock.v1.Lock as a gRPC service over Locks: requests checked at the API
// (both backends refuse the same things, naming the field), each call's
// deadline ending its wait, every answer stamped with this instance's id,
// every call a span (no owners or tokens in attributes).
import type { ServerDuplexStream, ServerUnaryCall } from '@grpc/grpc-js';
import { trace } from '@opentelemetry/api';
import { lockV1, type commonV1 } from '@bulwark/contracts';
import { DeadlineExceededError, UnavailableError } from '@bulwark/errors';
import type { Logger } from '@bulwark/logging';
import { inActiveSpan, type HandlerContext, type HandlerKit, type ServiceBinding } from '@bulwark/rpc';
import { HoldSession, holderMessage } from './hold-session';
import {
  requireLeaseId,
  requireName,
  requireOwner,
  requireToken,
  requireTtl,
  requireWaitTimeout,
} from './lock-requests';
import { acquireCounted, type AcquireMethod } from './lock-metrics';
import type { AcquireResult, Locks } from './locks';

const tracer = trace.getTracer('bulwark-lock');

export interface BackendDescription {
  readonly kind: lockV1.BackendKind;
  readonly servers: number;
}

export interface LockServiceOptions {
  readonly memberId: string;
  readonly backend: BackendDescription;
  readonly logger: Logger;
}

/** Aborts when the call's deadline passes or the caller cancels; DeadlineExceededError if it has passed already. */
function callSignal(
  call: ServerUnaryCall<unknown, unknown>,
  shutdown: AbortSignal,
): { signal: AbortSignal; dispose: () => void } {
  const controller = new AbortController();
  const deadline = call.getDeadline();
  const wallMs = deadline instanceof Date ? deadline.getTime() : deadline;
  const leftMs = Number.isFinite(wallMs) ? wallMs - Date.now() : Infinity;
  if (leftMs <= 0 || call.cancelled) {
    throw new DeadlineExceededError('grpc-timeout: the call deadline passed before the lock service could act');
  }
  const onCancelled = () => controller.abort();
  call.once('cancelled', onCancelled);
  // A draining server ends waits at once, so callers retry elsewhere instead of waiting out the drain.
  shutdown.addEventListener('abort', onCancelled, { once: true });
  // A little before the deadline, so a wait that ends there can still answer "not acquired".
  const timer = Number.isFinite(leftMs) ? setTimeout(onCancelled, leftMs - Math.min(20, leftMs / 2)) : undefined;
  return {
    signal: controller.signal,
    dispose: () => {
      clearTimeout(timer);
      call.off('cancelled', onCancelled);
      shutdown.removeEventListener('abort', onCancelled);
    },
  };
}

export function lockService(kit: HandlerKit, locks: Locks, options: LockServiceOptions): ServiceBinding {
  const header = (): commonV1.ResponseHeader => ({
    memberId: options.memberId,
    epoch: 0n,
    ballot: undefined,
    revision: 0n,
    sequence: 0n,
    groupId: '',
  });
  const traced =
    <Req, Res>(
      name: string,
      handler: (request: Req, call: ServerUnaryCall<Req, Res>, context: HandlerContext) => Promise<Res>,
    ) =>
    (request: Req, call: ServerUnaryCall<Req, Res>, context: HandlerContext) =>
      inActiveSpan(tracer, `bulwark.lock/${name}`, () => handler(request, call, context));
  const acquireAnswer = (result: AcquireResult) =>
    result.acquired
      ? {
          header: header(),
          acquired: true,
          token: result.grant.token,
          holder: undefined,
          validForMs: Math.max(1, Math.floor(result.grant.validUntilMs - performance.now())),
          leaseId: result.grant.attempt,
        }
      : {
          header: header(),
          acquired: false,
          token: 0n,
          holder: result.holder && holderMessage(result.holder),
          validForMs: 0,
          leaseId: '',
        };

  const acquire = async (
    method: AcquireMethod,
    request: lockV1.AcquireRequest,
    call: ServerUnaryCall<unknown, unknown>,
    { shutdown }: HandlerContext,
  ) => {
    const { signal, dispose } = callSignal(call, shutdown);
    try {
      const result = await acquireCounted(locks, method, request, signal);
      if (!result.acquired && shutdown.aborted) {
        throw new UnavailableError('the lock service is stopping; acquire on another instance');
      }
      return acquireAnswer(result);
    } finally {
      dispose();
    }
  };

  const implementation: lockV1.LockServer = {
    acquire: kit.unary(
      traced('Acquire', async (request: lockV1.AcquireRequest, call, context) => {
        requireName(request.name);
        requireOwner(request.owner);
        requireTtl(request.ttlMs);
        requireWaitTimeout(request.waitTimeoutMs);
        return acquire('Acquire', request, call, context);
      }),
    ),
    tryAcquire: kit.unary(
      traced('TryAcquire', async (request: lockV1.TryAcquireRequest, call, context) => {
        requireName(request.name);
        requireOwner(request.owner);
        requireTtl(request.ttlMs);
        return acquire('TryAcquire', { ...request, waitTimeoutMs: 0 }, call, context);
      }),
    ),
    refresh: kit.unary(
      traced('Refresh', async (request: lockV1.RefreshRequest) => {
        requireName(request.name);
        requireOwner(request.owner);
        requireToken(request.token);
        requireTtl(request.ttlMs);
        const grant = await locks.refresh(request.name, request.owner, request.token, request.ttlMs);
        return { header: header(), validForMs: Math.max(1, Math.floor(grant.validUntilMs - performance.now())) };
      }),
    ),
    release: kit.unary(
      traced('Release', async (request: lockV1.ReleaseRequest) => {
        requireName(request.name);
        requireOwner(request.owner);
        requireToken(request.token);
        requireLeaseId(request.leaseId);
        await locks.release(request.name, request.owner, request.token, request.leaseId || undefined);
        return { header: header() };
      }),
    ),
    inspect: kit.unary(
      traced('Inspect', async (request: lockV1.InspectRequest) => {
        requireName(request.name);
        const view = await locks.inspect(request.name);
        return {
          header: header(),
          held: view.holder !== undefined,
          holder: view.holder && holderMessage(view.holder),
          lastToken: view.fence,
          waiters: view.waiters,
          backend: {
            kind: options.backend.kind,
            servers: options.backend.servers,
            majority: locks.quorum.majority,
            answered: view.answered,
            faultTolerant: options.backend.kind === lockV1.BackendKind.BACKEND_KIND_REDIS && locks.quorum.faultTolerant,
            unanswered: [...view.unanswered],
          },
        };
      }),
    ),
    hold: kit.bidiStream((call: HoldCall, { shutdown }) => holdStream(call, shutdown, locks, header, options.logger)),
  };
  return { definition: lockV1.LockService, implementation };
}

type HoldCall = ServerDuplexStream<lockV1.HoldRequest, lockV1.HoldResponse>;

/**
 * Serves one Hold stream. Messages are handled one at a time, in order; a
 * failure ends the stream with its status. When the holder ends its side
 * (as grpcurl does after its messages) the stream stays open until the lock
 * is lost or released, so it still hears of the loss; cancelling leaves the
 * lease to expire.
 */
async function holdStream(
  call: HoldCall,
  shutdown: AbortSignal,
  locks: Locks,
  header: () => commonV1.ResponseHeader,
  logger: Logger,
): Promise<void> {
  let finish: (failure?: unknown) => void = () => {};
  const finished = new Promise<unknown>((resolve) => (finish = resolve));
  const session = new HoldSession(
    locks,
    {
      send: (event) => {
        if (!call.writableEnded && !call.cancelled) call.write({ header: header(), event });
      },
      end: () => finish(),
    },
    logger,
  );
  let handling: Promise<void> = Promise.resolve();
  const onData = (request: lockV1.HoldRequest) => {
    handling = handling.then(() => session.handle(request)).catch((error: unknown) => finish(error));
  };
  // Closed at once, so a grant completing now sees the holder gone and is released rather than kept.
  const onGone = () => {
    session.close();
    finish();
  };
  // A holder that ends its side while waiting gives up the wait (it hears granted if the grant won the race);
  // one that ends it before asking for anything leaves nothing to keep the stream open for.
  const onEnd = () => {
    session.stopWaiting();
    void handling.then(() => session.started || finish());
  };
  const onShutdown = () =>
    finish(new UnavailableError('the lock service is stopping; resume the grant on another instance'));
  call.on('data', onData);
  call.once('end', onEnd);
  call.once('cancelled', onGone);
  call.once('error', onGone);
  shutdown.addEventListener('abort', onShutdown, { once: true });
  if (shutdown.aborted) onShutdown();
  try {
    const failure = await finished;
    if (failure !== undefined) throw failure;
  } finally {
    call.off('data', onData);
    call.off('end', onEnd);
    call.off('cancelled', onGone);
    call.off('error', onGone);
    shutdown.removeEventListener('abort', onShutdown);
    session.close();
  }
}
