// The holder's side of the Hold protocol against a scripted lock.v1 server,
// for what the real service does not do on demand: a slow grant (validity
// is counted from the sending), a resume refused, a Lost answer to a
// release, an acquire stream that breaks, a release while no stream is open.
import type { ServerDuplexStream } from '@grpc/grpc-js';
import { once } from 'node:events';
import { setTimeout as delay } from 'node:timers/promises';
import { lockV1 } from '@bulwark/contracts';
import { FailedPreconditionError, UnavailableError } from '@bulwark/errors';
import { createLogger } from '@bulwark/logging';
import { notImplemented, startServer, untilCallEnds, type RunningServer } from '@bulwark/rpc';
import { LockClient } from './lock-client';
import { LockLostError } from './lock-errors';
import { holdingOf, lossOf } from '../testing/held-locks';

const logger = createLogger({ service: 'test', memberId: 'test', level: 'fatal' });

type HoldEvent = NonNullable<lockV1.HoldResponse['event']>;

/** The server's end of one Hold stream, as a script sees it. */
class ServerSide {
  private readonly messages: AsyncIterator<lockV1.HoldRequest>;

  constructor(
    private readonly call: ServerDuplexStream<lockV1.HoldRequest, lockV1.HoldResponse>,
    private readonly shutdown: AbortSignal,
  ) {
    this.messages = call[Symbol.asyncIterator]();
  }

  async next(): Promise<NonNullable<lockV1.HoldRequest['action']>> {
    const message = await this.messages.next();
    if (message.done || !message.value.action) throw new Error('the holder sent nothing more');
    return message.value.action;
  }

  send(event: HoldEvent): void {
    this.call.write({ header: undefined, event });
  }

  /** Until the holder cancels the stream. */
  ended(): Promise<void> {
    return untilCallEnds(this.call, this.shutdown);
  }

  /** Answers renewals until a release, which it confirms. */
  async serveUntilReleased(validForMs: number, onRenew: () => void = () => {}): Promise<void> {
    for (;;) {
      const action = await this.next();
      if (action.$case === 'release') return this.send({ $case: 'released', released: {} });
      if (action.$case !== 'renew') throw new Error(`unexpected ${action.$case}`);
      onRenew();
      this.send({ $case: 'renewed', renewed: { validForMs } });
    }
  }
}

type Script = (side: ServerSide) => Promise<void>;

describe('the Hold protocol, holder side', () => {
  let server: RunningServer;
  let client: LockClient;
  let scripts: Script[] = [];
  const releases: lockV1.ReleaseRequest[] = [];

  beforeAll(async () => {
    server = await startServer({ address: '127.0.0.1:0', logger, drainDeadlineMs: 1_000 }, (kit) => {
      const unserved = notImplemented('scripted lock server');
      const implementation: lockV1.LockServer = {
        acquire: kit.unary(unserved),
        tryAcquire: kit.unary(unserved),
        refresh: kit.unary(unserved),
        release: kit.unary((request: lockV1.ReleaseRequest) => {
          releases.push(request);
          return { header: undefined };
        }),
        inspect: kit.unary(unserved),
        hold: kit.bidiStream(async (call: ServerDuplexStream<lockV1.HoldRequest, lockV1.HoldResponse>, context) => {
          const script = scripts.shift();
          if (!script) throw new Error('no script left for this stream');
          await script(new ServerSide(call, context.shutdown));
        }),
      };
      return [{ definition: lockV1.LockService, implementation }];
    });
    client = new LockClient({ endpoints: [`127.0.0.1:${server.port}`], logger, callTimeoutMs: 2_000 });
  });

  afterEach(() => {
    expect(scripts).toEqual([]);
    scripts = [];
    releases.length = 0;
  });

  afterAll(async () => {
    client.close();
    await server.drain('test done');
  });

  const granted = (token: bigint, validForMs: number): HoldEvent => ({
    $case: 'granted',
    granted: { token, validForMs, leaseId: `i1.${token}` },
  });

  it('counts validity from when the acquire and each renewal were sent, never from when the answer came', async () => {
    let acquireReceivedAt = 0;
    const renewReceivedAt: number[] = [];
    scripts = [
      async (side) => {
        expect((await side.next()).$case).toBe('acquire');
        acquireReceivedAt = performance.now();
        // A slow grant: every ms it takes is spent from the validity.
        await delay(200);
        side.send(granted(7n, 1_400));
        await side.serveUntilReleased(1_400, () => renewReceivedAt.push(performance.now()));
      },
    ];
    const before = performance.now();
    const lock = holdingOf(await client.hold('slow-grant', { owner: 'alice', ttlMs: 1_500, waitTimeoutMs: 0 }));
    const arrivedAt = performance.now();
    expect(lock.token).toBe(7n);
    expect(lock.validUntilMs).toBeGreaterThanOrEqual(before + 1_400);
    expect(lock.validUntilMs).toBeLessThanOrEqual(acquireReceivedAt + 1_400);
    expect(arrivedAt + 1_400 - lock.validUntilMs).toBeGreaterThanOrEqual(190);

    await once(lock.events, 'renewed');
    expect(renewReceivedAt).toHaveLength(1);
    expect(lock.validUntilMs).toBeLessThanOrEqual((renewReceivedAt[0] as number) + 1_400);
    expect(lock.validUntilMs).toBeGreaterThan(acquireReceivedAt + 1_400);
    await lock.release();
  });

  it('takes a refused resume as the loss of the lock (cause expired)', async () => {
    let resume: lockV1.HoldResume | undefined;
    scripts = [
      async (side) => {
        await side.next();
        side.send(granted(7n, 5_000));
        throw new UnavailableError('the instance is stopping');
      },
      async (side) => {
        const action = await side.next();
        if (action.$case === 'resume') resume = action.resume;
        throw new FailedPreconditionError('token', 'lock "resumed" is not held by alice under token 7');
      },
    ];
    const lock = await client.hold('resumed', { owner: 'alice', ttlMs: 6_000, waitTimeoutMs: 0 });
    if (!lock) throw new Error('expected the lock');
    const loss = await lossOf(lock);
    expect(loss.lossCause).toBe('expired');
    expect(resume).toEqual({ name: 'resumed', owner: 'alice', token: 7n, ttlMs: 6_000 });
    await expect(lock.release()).rejects.toBe(loss);
  });

  it('rejects release with the cause when the service answers it with Lost', async () => {
    scripts = [
      async (side) => {
        await side.next();
        side.send(granted(9n, 5_000));
        expect((await side.next()).$case).toBe('release');
        side.send({
          $case: 'lost',
          lost: { cause: lockV1.LossCause.LOSS_CAUSE_RELEASED, detail: 'released by another call' },
        });
      },
    ];
    const lock = await client.hold('late-release', { owner: 'alice', ttlMs: 6_000, waitTimeoutMs: 0 });
    if (!lock) throw new Error('expected the lock');
    const error = await lock.release().catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(LockLostError);
    expect((error as LockLostError).lossCause).toBe('released');
    expect(lock.signal.reason).toBe(error);
  });

  it('retries an acquire whose stream broke before the answer, with the wait that is left', async () => {
    const waits: number[] = [];
    const acquireOf = async (side: ServerSide) => {
      const action = await side.next();
      if (action.$case === 'acquire') waits.push(action.acquire.waitTimeoutMs);
    };
    scripts = [
      async (side) => {
        await acquireOf(side);
        throw new UnavailableError('the instance is stopping');
      },
      async (side) => {
        await acquireOf(side);
        side.send({
          $case: 'notAcquired',
          notAcquired: { holder: { owner: 'bob', token: 3n, remainingTtlMs: 100 } },
        });
      },
    ];
    const attempt = await client.attemptHold('busy', { owner: 'alice', ttlMs: 1_000, waitTimeoutMs: 2_000 });
    expect(attempt).toEqual({ acquired: false, holder: { owner: 'bob', token: 3n, remainingTtlMs: 100 } });
    expect(waits).toHaveLength(2);
    expect(waits[0]).toBe(2_000);
    expect(waits[1]).toBeLessThanOrEqual(2_000);
  });

  it('releases with a unary Release while the stream is being resumed', async () => {
    let resumeSeen: () => void = () => {};
    const resuming = new Promise<void>((resolve) => (resumeSeen = resolve));
    scripts = [
      async (side) => {
        await side.next();
        side.send(granted(11n, 5_000));
        throw new UnavailableError('the instance is stopping');
      },
      async (side) => {
        expect((await side.next()).$case).toBe('resume');
        resumeSeen();
        // No answer: the holder gives this attempt up when it releases.
        await side.ended();
      },
    ];
    const lock = await client.hold('unary-release', { owner: 'alice', ttlMs: 6_000, waitTimeoutMs: 0 });
    if (!lock) throw new Error('expected the lock');
    await resuming;
    await lock.release();
    expect(releases).toEqual([{ name: 'unary-release', owner: 'alice', token: 11n, leaseId: 'i1.11' }]);
    expect((lock.signal.reason as LockLostError).lossCause).toBe('released-by-holder');
  });
});
