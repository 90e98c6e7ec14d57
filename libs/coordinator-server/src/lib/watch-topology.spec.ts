// A watcher that stops reading is cut off with RESOURCE_EXHAUSTED once what
// this member buffers for it passes a bound, over real gRPC: the member's
// memory does not grow with a stalled client, and the watcher resumes from
// its last revision.
import { Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { serveCoordinator, type ServedCoordinator } from '../testing';
import { encodeCommand } from './command-codec';

describe('WatchTopology with a watcher that stops reading', () => {
  let served: ServedCoordinator;

  afterEach(() => served.stop());

  const changes = 3_000;

  async function stalledWatcherEnds(limits: { backlogMax: number; backlogBytesMax: number }): Promise<ServiceError> {
    served = await serveCoordinator({ watchLimits: { ...limits, backlogBytesTotalMax: 1 << 30 } });
    const stream = served.client.watchTopology({ startRevision: 0n }, new Metadata());
    const ended = new Promise<ServiceError>((resolve) => stream.on('error', resolve));
    // The first response (a snapshot) arrives; then the watcher stops reading.
    await new Promise((resolve) => stream.once('data', resolve));
    stream.pause();
    // Changes with long addresses, more than the stream's buffer holds (bounded loop).
    for (let change = 0; change < changes; change++) {
      const address = `a${change}.${'h'.repeat(60)}.${'i'.repeat(60)}.${'j'.repeat(60)}:7100`;
      served.runner.commit(
        encodeCommand({
          type: 'registerMember',
          member: { id: `m${change % 1_000}`, address, role: 'router', groupId: '' },
        }),
      );
      // Let the stream's writes and flow control run now and then.
      if (change % 100 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    // Reading again, the watcher gets what was buffered, then the status the member ended it with.
    stream.resume();
    return ended;
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
});
