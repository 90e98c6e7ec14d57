// Batches of one turn's commands against a real redis-server: one write per
// turn, a batch sent without waiting for the one before it to be answered,
// and each command's own reply or error.
import {
  closeRedisClients,
  connectRedisClient,
  killAllProcesses,
  startRedisServer,
  type RedisServer,
} from '@bulwark/testing';
import type Redis from 'ioredis';
import { TurnBatches } from './turn-batches';

let server: RedisServer;
let redis: Redis;
let batches: TurnBatches;

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Counts the writes on the client's socket from now on. */
function countWrites(): { readonly count: number } {
  const socket = redis.stream as unknown as { write: (...args: unknown[]) => boolean };
  const write = socket.write.bind(socket);
  const counter = { count: 0 };
  socket.write = (...args: unknown[]) => {
    counter.count += 1;
    return write(...args);
  };
  return counter;
}

beforeAll(async () => {
  server = await startRedisServer();
  redis = connectRedisClient(server);
  await redis.ping();
  batches = new TurnBatches(redis);
});

afterAll(async () => {
  await closeRedisClients();
  await server.remove();
  await killAllProcesses();
});

it('sends the commands of one turn in one write, each answered with its own reply', async () => {
  const writes = countWrites();
  const replies = await Promise.all([
    batches.send((batch) => batch.set('turn/a', '1')),
    batches.send((batch) => batch.incr('turn/a')),
    batches.send((batch) => batch.get('turn/a')),
  ]);
  expect(replies).toEqual(['OK', 2, '2']);
  expect(writes.count).toBe(1);
});

it('keeps every other reply in place when building one command throws', async () => {
  const [thrown, written, read] = await Promise.allSettled([
    batches.send(() => {
      throw new Error('bad argument');
    }),
    batches.send((batch) => batch.set('turn/c', 'c')),
    batches.send((batch) => batch.get('turn/c')),
  ]);
  expect(thrown).toMatchObject({ status: 'rejected', reason: { message: 'bad argument' } });
  expect([written, read]).toEqual([
    { status: 'fulfilled', value: 'OK' },
    { status: 'fulfilled', value: 'c' },
  ]);
});

it('refuses a call that adds two commands and keeps the replies of the calls after it in place', async () => {
  const [refused, written, read] = await Promise.allSettled([
    batches.send((batch) => batch.set('turn/d', 'first').set('turn/d', 'second')),
    batches.send((batch) => batch.set('turn/e', 'e')),
    batches.send((batch) => batch.get('turn/e')),
  ]);
  expect(refused).toMatchObject({ status: 'rejected', reason: { message: expect.stringMatching(/added 2/) } });
  expect([written, read]).toEqual([
    { status: 'fulfilled', value: 'OK' },
    { status: 'fulfilled', value: 'e' },
  ]);
});

it('rejects only the command that failed', async () => {
  await redis.set('turn/text', 'not a number');
  const [failed, read] = await Promise.allSettled([
    batches.send((batch) => batch.incr('turn/text')),
    batches.send((batch) => batch.get('turn/text')),
  ]);
  expect(failed).toMatchObject({ status: 'rejected', reason: { message: expect.stringMatching(/not an integer/) } });
  expect(read).toEqual({ status: 'fulfilled', value: 'not a number' });
});

it("sends a turn's batch while the previous turn's is still unanswered", async () => {
  const writes = countWrites();
  // A paused server answers nothing: both batches are written before either is answered.
  server.pause();
  try {
    const first = batches.send((batch) => batch.set('turn/b', 'first'));
    await nextTurn();
    const second = batches.send((batch) => batch.get('turn/b'));
    await nextTurn();
    expect(writes.count).toBe(2);
    server.resume();
    await expect(Promise.all([first, second])).resolves.toEqual(['OK', 'first']);
  } finally {
    server.resume();
  }
});
