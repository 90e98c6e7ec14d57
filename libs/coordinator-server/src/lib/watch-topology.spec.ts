// A watcher that stops reading is cut off with RESOURCE_EXHAUSTED once what
// this member buffers for it passes a bound, over real gRPC: the member's
// memory does not grow with a stalled client, and the watcher resumes from
// its last revision.
import { Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { serveCoordinator, type ServedCoordinator } from '../testing';
import { encodeCommand } from './command-codec';
import type { WatchLimits } from './watch-topology';

describe('WatchTopology with a watcher that stops reading', () => {
  let served: ServedCoordinator;

  afterEach(() => served.stop());

  const changes = 3_000;

  /** Opens `watchers` streams that stop reading, commits many changes, then reads again: how each ended. */
  async function stalledWatchersEnd(limits: WatchLimits, watchers = 1): Promise<ServiceError[]> {
    served = await serveCoordinator({ watchLimits: limits });
    const streams = Array.from({ length: watchers }, () =>
      served.client.watchTopology({ startRevision: 0n }, new Metadata()),
    );
    const ended = streams.map((stream) => new Promise<ServiceError>((resolve) => stream.on('error', resolve)));
    // The first response (a snapshot) arrives; then the watchers stop reading.
    for (const stream of streams) {
      await new Promise((resolve) => stream.once('data', resolve));
      stream.pause();
    }
    // Changes with long addresses, more than the streams' buffers hold (bounded loop).
    for (let change = 0; change < changes; change++) {
      const address = `a${change}.${'h'.repeat(60)}.${'i'.repeat(60)}.${'j'.repeat(60)}:7100`;
      served.runner.commit(
        encodeCommand({
          type: 'registerMember',
          member: { id: `m${change % 1_000}`, address, role: 'router', groupId: '', metricsAddress: '' },
        }),
      );
      // Let the streams' writes and flow control run now and then.
      if (change % 100 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    // Reading again, each watcher gets what was buffered, then the status the member ended it with.
    for (const stream of streams) stream.resume();
    return Promise.all(ended);
  }

  const unbounded = { backlogMax: 1_000_000, backlogBytesMax: 1 << 30, backlogBytesTotalMax: 1 << 30 };

  async function stalledWatcherEnds(limits: Partial<WatchLimits>): Promise<ServiceError> {
    const [error] = await stalledWatchersEnd({ ...unbounded, ...limits });
    return error as ServiceError;
  }

  it('ends it when its buffered responses pass the count bound', async () => {
    const error = await stalledWatcherEnds({ backlogMax: 64, backlogBytesMax: 1 << 30 });
    expect(error.code).toBe(status.RESOURCE_EXHAUSTED);
  });

  it('ends it when its buffered bytes pass the byte bound, before the count bound', async () => {
    const error = await stalledWatcherEnds({ backlogMax: 1_000_000, backlogBytesMax: 256 * 1024 });
    expect(error.code).toBe(status.RESOURCE_EXHAUSTED);
    expect(error.details).toContain('too slow');
  });

  it('ends stalled watchers when together they buffer more than the bound for all of them', async () => {
    // Each alone stays under its own bound; the two together do not.
    const errors = await stalledWatchersEnd(
      { ...unbounded, backlogBytesMax: 1 << 30, backlogBytesTotalMax: 256 * 1024 },
      2,
    );
    expect(errors.map((error) => error.code)).toContain(status.RESOURCE_EXHAUSTED);
  });
});
