// Real redis-server processes for tests: each on a free port of 127.0.0.1,
// in its own temporary directory, with every write fsynced to the
// append-only file before it is acknowledged (unless told otherwise), so
// data survives kill() and restart(). Processes are started through ./processes, so
// killAllProcesses() in a test's afterAll ends them too; clients from
// connectRedisClient() end with closeRedisClients().
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Redis from 'ioredis';
import { freePort } from './ports';
import { startProcess, type Exit, type ManagedProcess } from './processes';

const redisServerCommand = '/usr/bin/redis-server';
const host = '127.0.0.1';
const defaultStartTimeoutMs = 10_000;
const stopTimeoutMs = 10_000;
/** A port freePort found can be taken before redis-server binds it: try a few. */
const portAttemptsMax = 3;

export interface RedisServerOptions {
  /** How long starting (and restarting) may take, until the server answers PING. */
  startTimeoutMs?: number;
  /** appendfsync: always (the default) or everysec, which a crash may cost the last second of writes. */
  appendfsync?: 'always' | 'everysec';
}

export interface RedisServer {
  readonly port: number;
  /** host:port */
  readonly address: string;
  /** The server's working directory, holding its append-only file. */
  readonly dir: string;
  /** SIGTERM (a clean shutdown) and wait for the exit. */
  stop(): Promise<Exit>;
  /** SIGKILL and wait for the exit, keeping the data directory: a crash. */
  kill(): Promise<Exit>;
  /** Starts the server again on the same port and directory and waits until it answers PING. */
  restart(): Promise<void>;
  /** SIGKILL and empty the data directory, as a lost volume: restart() then starts the server with no data. */
  loseData(): Promise<void>;
  /** SIGSTOP: the server keeps its connections but answers nothing, as a hung machine. */
  pause(): void;
  /** SIGCONT after pause(). */
  resume(): void;
  /** Stops the server and deletes its directory. */
  remove(): Promise<void>;
}

export async function startRedisServer(options: RedisServerOptions = {}): Promise<RedisServer> {
  const startTimeoutMs = options.startTimeoutMs ?? defaultStartTimeoutMs;
  const appendfsync = options.appendfsync ?? 'always';
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-redis-'));
  for (let attempt = 1; ; attempt += 1) {
    const port = await freePort(host);
    try {
      const child = await startReady(port, dir, appendfsync, startTimeoutMs);
      return new RedisServerProcess(port, dir, appendfsync, startTimeoutMs, child);
    } catch (error) {
      if (attempt >= portAttemptsMax) {
        rmSync(dir, { recursive: true, force: true });
        throw error;
      }
    }
  }
}

class RedisServerProcess implements RedisServer {
  readonly address: string;

  constructor(
    readonly port: number,
    readonly dir: string,
    private readonly appendfsync: 'always' | 'everysec',
    private readonly startTimeoutMs: number,
    private child: ManagedProcess,
  ) {
    this.address = `${host}:${port}`;
  }

  async stop(): Promise<Exit> {
    this.child.signal('SIGTERM');
    // A paused server acts on SIGTERM only once it runs again.
    this.child.signal('SIGCONT');
    return this.child.waitForExit(stopTimeoutMs);
  }

  async kill(): Promise<Exit> {
    this.child.signal('SIGKILL');
    return this.child.waitForExit(stopTimeoutMs);
  }

  async restart(): Promise<void> {
    if (this.child.alive) throw new Error(`redis-server ${this.address} is still running (pid ${this.child.pid})`);
    this.child = await startReady(this.port, this.dir, this.appendfsync, this.startTimeoutMs);
  }

  async loseData(): Promise<void> {
    if (this.child.alive) await this.kill();
    rmSync(this.dir, { recursive: true, force: true });
    mkdirSync(this.dir);
  }

  pause(): void {
    this.child.signal('SIGSTOP');
  }

  resume(): void {
    this.child.signal('SIGCONT');
  }

  async remove(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

async function startReady(
  port: number,
  dir: string,
  appendfsync: 'always' | 'everysec',
  timeoutMs: number,
): Promise<ManagedProcess> {
  const child = startProcess({
    command: redisServerCommand,
    args: [
      '--port',
      String(port),
      '--bind',
      host,
      '--dir',
      dir,
      '--appendonly',
      'yes',
      '--appendfsync',
      appendfsync,
      '--save',
      '',
      '--notify-keyspace-events',
      'Ex',
    ],
    cwd: dir,
  });
  try {
    // Printed once the append-only file is loaded and the port bound.
    await child.waitForLine((line) => line.includes('Ready to accept connections'), timeoutMs);
    await ping(port, timeoutMs);
    return child;
  } catch (error) {
    await child.kill();
    throw error;
  }
}

/** Resolves when the server on port answers PING with PONG. */
function ping(port: number, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port });
    let reply = '';
    const finish = (error?: Error) => {
      socket.destroy();
      if (error) reject(error);
      else resolve();
    };
    socket.setTimeout(timeoutMs, () => finish(new Error(`${host}:${port} did not answer PING within ${timeoutMs} ms`)));
    socket.once('error', finish);
    socket.on('data', (data) => {
      reply += data.toString('latin1');
      if (!reply.endsWith('\r\n')) return;
      finish(
        reply === '+PONG\r\n' ? undefined : new Error(`${host}:${port} answered PING with ${JSON.stringify(reply)}`),
      );
    });
    socket.write('PING\r\n');
  });
}

const clients = new Set<Redis>();

/**
 * A plain ioredis connection to server, for a test to arrange and check what
 * is stored there. It fails instead of waiting or reconnecting when the
 * server is away: connect a new one after a restart.
 */
export function connectRedisClient(server: RedisServer): Redis {
  const client = new Redis({ host, port: server.port, maxRetriesPerRequest: 0, retryStrategy: () => null });
  // Failures reach the test through the commands it awaits.
  client.on('error', () => undefined);
  clients.add(client);
  return client;
}

/** Closes every client connectRedisClient() made. */
export async function closeRedisClients(): Promise<void> {
  await Promise.all(
    [...clients].map(async (client) => {
      clients.delete(client);
      if (client.status === 'end') return;
      const ended = once(client, 'end');
      client.disconnect();
      await ended;
    }),
  );
}
