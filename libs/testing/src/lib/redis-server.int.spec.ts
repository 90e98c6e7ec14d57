// The redis-server harness against real processes: what it starts, and that
// kill/restart/pause/remove do what the lock tests rely on.
import { existsSync } from 'node:fs';
import { killAllProcesses } from './processes';
import { closeRedisClients, connectRedisClient, startRedisServer, type RedisServer } from './redis-server';

let server: RedisServer;

beforeAll(async () => {
  server = await startRedisServer();
});

afterAll(async () => {
  await closeRedisClients();
  await server.remove();
  await killAllProcesses();
});

describe('startRedisServer', () => {
  it('starts a redis-server of its own on 127.0.0.1 in a fresh directory, fsyncing every write', async () => {
    expect(server.port).not.toBe(6379);
    expect(server.address).toBe(`127.0.0.1:${server.port}`);
    const client = connectRedisClient(server);
    expect(await client.ping()).toBe('PONG');
    expect(await client.dbsize()).toBe(0);
    const config = async (parameter: string) => ((await client.config('GET', parameter)) as string[])[1];
    expect(await config('dir')).toBe(server.dir);
    expect(await config('bind')).toBe('127.0.0.1');
    expect(await config('appendonly')).toBe('yes');
    expect(await config('appendfsync')).toBe('always');
    expect(await config('save')).toBe('');
    expect(await config('notify-keyspace-events')).toBe('xE');
  });

  it('starts each server on a port and directory of its own', async () => {
    const other = await startRedisServer();
    try {
      expect(other.port).not.toBe(server.port);
      expect(other.dir).not.toBe(server.dir);
      await connectRedisClient(other).set('only-here', '1');
      expect(await connectRedisClient(server).exists('only-here')).toBe(0);
    } finally {
      await other.remove();
    }
  });

  it('keeps every acknowledged write across kill() and restart()', async () => {
    await connectRedisClient(server).set('survives-a-crash', 'yes');
    expect(await server.kill()).toEqual({ code: null, signal: 'SIGKILL' });
    await server.restart();
    expect(await connectRedisClient(server).get('survives-a-crash')).toBe('yes');
  });

  it('stops cleanly and restarts on the same port with the same data', async () => {
    await connectRedisClient(server).set('survives-a-stop', 'yes');
    expect(await server.stop()).toEqual({ code: 0, signal: null });
    await expect(connectRedisClient(server).ping()).rejects.toThrow();
    await server.restart();
    expect(await connectRedisClient(server).get('survives-a-stop')).toBe('yes');
  });

  it('refuses to restart a server that is running', async () => {
    await expect(server.restart()).rejects.toThrow(/still running/);
  });

  it('answers nothing while paused, and everything it was sent once resumed', async () => {
    const client = connectRedisClient(server);
    await client.ping();
    server.pause();
    try {
      const answer = client.incr('counted-while-paused');
      // No event says "no answer": give it a bounded window.
      const early = await Promise.race([answer, new Promise((resolve) => setTimeout(() => resolve('no answer'), 300))]);
      expect(early).toBe('no answer');
      server.resume();
      expect(await answer).toBe(1);
    } finally {
      server.resume();
    }
  });

  it('stops a paused server too, and removes its directory', async () => {
    const doomed = await startRedisServer();
    doomed.pause();
    await doomed.remove();
    expect(existsSync(doomed.dir)).toBe(false);
    await expect(connectRedisClient(doomed).ping()).rejects.toThrow();
  });
});
