// The launcher as a user runs it: a real process over the fixture compose
// file of libs/fleet, on subnet 127.77.10 and published ports offset by
// 21000, so it never meets a user's fleet on the default subnet and ports.
import { execFileSync, spawn, type ChildProcessByStdio } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { fleetIdVariable, findProcessesWithEnv, isRunning } from '@bulwark/fleet';

const repoRoot = join(__dirname, '../../..');
const fixtures = join(repoRoot, 'libs/fleet/src/testing');
const waitMs = 20_000;
const scratch = mkdtempSync(join(tmpdir(), 'bulwark-launcher-'));
const started: Launcher[] = [];
let fleetCount = 0;

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** One launcher process with its output captured line by line. */
class Launcher {
  readonly fleetId = `launcher-int-${process.pid}-${(fleetCount += 1)}`;
  readonly stdout: string[] = [];
  readonly stderr: string[] = [];
  readonly exited: Promise<Exit>;
  private readonly child: ChildProcessByStdio<null, Readable, Readable>;
  private readonly listeners = new Set<() => void>();

  constructor(composeFile: string, env: Record<string, string> = {}, options: readonly string[] = []) {
    this.child = spawn(process.execPath, ['dist/tools/launcher/main.js', ...options, composeFile], {
      cwd: repoRoot,
      env: {
        PATH: process.env.PATH as string,
        HOME: process.env.HOME as string,
        [fleetIdVariable]: this.fleetId,
        BULWARK_LAUNCH_SUBNET: '127.77.10',
        BULWARK_LAUNCH_PORT_OFFSET: '21000',
        BULWARK_LAUNCH_STATE_DIR: join(scratch, this.fleetId),
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    started.push(this);
    for (const [stream, lines] of [
      [this.child.stdout, this.stdout],
      [this.child.stderr, this.stderr],
    ] as const) {
      createInterface({ input: stream }).on('line', (line) => {
        lines.push(line);
        for (const listener of this.listeners) listener();
      });
    }
    this.exited = new Promise((resolve) => this.child.once('exit', (code, signal) => resolve({ code, signal })));
  }

  signal(signal: NodeJS.Signals): void {
    this.child.kill(signal);
  }

  waitForLine(matches: (line: string) => boolean): Promise<string> {
    return this.within(
      new Promise((resolve) => {
        const check = () => {
          const line = this.stdout.find(matches);
          if (line === undefined) return;
          this.listeners.delete(check);
          resolve(line);
        };
        this.listeners.add(check);
        check();
      }),
      'a matching line',
    );
  }

  /** Polls a condition that no event announces (processes that are not our children), bounded. */
  waitUntil(condition: () => boolean, what: string): Promise<void> {
    return this.within(
      new Promise<void>((resolve) => {
        const poll = setInterval(() => {
          if (!condition()) return;
          clearInterval(poll);
          resolve();
        }, 50);
      }),
      what,
    );
  }

  waitForExit(): Promise<Exit> {
    return this.within(this.exited, 'exit');
  }

  /** The fleet's processes, the launcher included while it runs. */
  processes(): number[] {
    return findProcessesWithEnv(fleetIdVariable, this.fleetId);
  }

  private async within<T>(promise: Promise<T>, what: string): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const output = () => [...this.stdout, ...this.stderr].join('\n');
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no ${what} within ${waitMs} ms; output:\n${output()}`)), waitMs);
    });
    try {
      return await Promise.race([promise, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }
}

/** The first line a server sends on a new connection. */
function firstLine(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.setTimeout(5000, () => socket.destroy(new Error(`no line from port ${port} within 5 s`)));
    socket.on('error', reject);
    createInterface({ input: socket }).once('line', (line) => {
      socket.destroy();
      resolve(line);
    });
  });
}

/** The pid in the table row of the fixture's redis service. */
function redisPidIn(launcher: Launcher): number {
  const pid = launcher.stdout.map((line) => /^redis\s+(\d+)\s/.exec(line)?.[1]).find(Boolean);
  if (pid === undefined) throw new Error('no redis row with a pid in the table');
  return Number(pid);
}

function occupy(port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}

beforeAll(() => {
  execFileSync(process.execPath, ['tools/build/bundle.mjs', 'tools/launcher'], { cwd: repoRoot });
});

// Whatever a test left running: launchers, and fleets a SIGKILLed launcher could not stop; all carry our fleet ids.
afterEach(async () => {
  for (const launcher of started.splice(0)) {
    launcher.signal('SIGKILL');
    await launcher.waitForExit();
    for (const pid of launcher.processes()) process.kill(pid, 'SIGKILL');
  }
});

afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('the launcher', () => {
  it('prints the table and "fleet ready", forwards ports, relays output, and leaves nothing after SIGINT', async () => {
    const launcher = new Launcher(join(fixtures, 'fleet.compose.yml'));
    await launcher.waitForLine((line) => line === 'fleet ready');
    const table = launcher.stdout.slice(
      launcher.stdout.findIndex((line) => line.startsWith('NAME ')),
      -1,
    );
    expect(table.map((line) => line.split(/\s{2,}/))).toEqual([
      ['NAME', 'PID', 'ADDRESS', 'PUBLISHED', 'STATE'],
      ['alpha', expect.stringMatching(/^\d+$/), '127.77.10.2:7001', '127.0.0.1:28001->7001', 'healthy'],
      ['beta', expect.stringMatching(/^\d+$/), '127.77.10.3:7001', '127.0.0.1:28002->7001', 'healthy'],
      [
        'gamma',
        expect.stringMatching(/^\d+$/),
        '127.77.10.4:7003',
        expect.stringMatching(/^127\.0\.0\.1:\d+->7003$/),
        'running',
      ],
      ['collector', '-', '-', '-', 'skipped: image only'],
    ]);
    expect(launcher.stdout).toContain('alpha | listening on 127.77.10.2:7001');
    expect(launcher.stdout).toContain('beta  | listening on 127.77.10.3:7001');
    const dropped = '"msg":"environment.OTEL_EXPORTER_OTLP_ENDPOINT names collector, which is skipped: dropped"';
    expect(launcher.stdout.filter((line) => line.includes(dropped))).toHaveLength(1);
    expect(JSON.parse(await firstLine(28_002))).toMatchObject({ name: 'beta', address: '127.77.10.3:7001' });
    expect(launcher.processes().length).toBeGreaterThanOrEqual(4); // the launcher and three services

    launcher.signal('SIGINT');
    expect(await launcher.waitForExit()).toEqual({ code: 0, signal: null });
    expect(launcher.processes()).toEqual([]);
  });

  it('treats the same SIGINT arriving twice at once (terminal and npm) as one stop', async () => {
    const launcher = new Launcher(join(fixtures, 'fleet.compose.yml'));
    await launcher.waitForLine((line) => line === 'fleet ready');
    launcher.signal('SIGINT');
    launcher.signal('SIGINT');
    expect(await launcher.waitForExit()).toEqual({ code: 0, signal: null });
    expect(launcher.stdout.some((line) => line.includes('second stop signal'))).toBe(false);
    expect(launcher.processes()).toEqual([]);
  });

  it('kills everything at once on a second, different stop signal', async () => {
    const launcher = new Launcher(join(fixtures, 'fleet.compose.yml'));
    await launcher.waitForLine((line) => line === 'fleet ready');
    launcher.signal('SIGINT');
    await launcher.waitForLine((line) => line.includes('"msg":"stopping the fleet"'));
    launcher.signal('SIGTERM');
    expect(await launcher.waitForExit()).toEqual({ code: 130, signal: null });
    expect(launcher.stdout.some((line) => line.includes('"msg":"second stop signal: killing every service now"'))).toBe(
      true,
    );
    expect(launcher.processes()).toEqual([]);
  });

  it('takes its services along when it is killed with SIGKILL, which no exit handler sees', async () => {
    const launcher = new Launcher(join(fixtures, 'fleet.compose.yml'));
    await launcher.waitForLine((line) => line === 'fleet ready');
    launcher.signal('SIGKILL');
    await launcher.waitForExit();
    await launcher.waitUntil(() => launcher.processes().length === 0, 'the services to die with the launcher');
  });

  it('runs a Redis image service from the local redis-server, listed at its address, and stops it', async () => {
    const launcher = new Launcher(join(fixtures, 'redis.compose.yml'));
    await launcher.waitForLine((line) => line === 'fleet ready');
    const table = launcher.stdout.slice(
      launcher.stdout.findIndex((line) => line.startsWith('NAME ')),
      -1,
    );
    expect(table.map((line) => line.split(/\s{2,}/))).toEqual([
      ['NAME', 'PID', 'ADDRESS', 'PUBLISHED', 'STATE'],
      ['redis', expect.stringMatching(/^\d+$/), '127.77.10.2:6379', '-', 'healthy'],
      ['user', expect.stringMatching(/^\d+$/), '127.77.10.3:7001', '-', 'healthy'],
      ['second-user', expect.stringMatching(/^\d+$/), '127.77.10.4:7001', '-', 'healthy'],
    ]);
    expect(launcher.stdout.filter((line) => /"msg":"[^"]*(skipped|runs without)/.test(line))).toEqual([]);
    // By pid: redis-server writes its title over the environment processes() reads.
    const redisPid = redisPidIn(launcher);
    expect(isRunning(redisPid)).toBe(true);
    launcher.signal('SIGINT');
    expect(await launcher.waitForExit()).toEqual({ code: 0, signal: null });
    expect(launcher.processes()).toEqual([]);
    expect(isRunning(redisPid)).toBe(false);
  });

  it('takes redis-server along when it is killed with SIGKILL', async () => {
    const launcher = new Launcher(join(fixtures, 'redis.compose.yml'));
    await launcher.waitForLine((line) => line === 'fleet ready');
    const redisPid = redisPidIn(launcher);
    expect(isRunning(redisPid)).toBe(true);
    launcher.signal('SIGKILL');
    await launcher.waitForExit();
    await launcher.waitUntil(() => !isRunning(redisPid), 'redis-server to die with the launcher');
  });

  it('skips it and what must not run without it, saying why, where redis-server is not on PATH; runs the rest', async () => {
    // A PATH with node alone: this machine's redis-server shares node's directory.
    const bin = join(scratch, 'node-only-bin');
    mkdirSync(bin);
    symlinkSync(process.execPath, join(bin, 'node'));
    const launcher = new Launcher(join(fixtures, 'redis.compose.yml'), { PATH: bin });
    await launcher.waitForLine((line) => line === 'fleet ready');
    const logged = (msg: string) => launcher.stdout.filter((line) => line.includes(`"msg":"${msg}"`));
    expect(logged('redis: redis-server not found on PATH; skipped')).toHaveLength(1);
    expect(logged('second-user skipped: needs redis, which is skipped')).toHaveLength(1);
    expect(logged('user runs without redis, which is skipped: keeps its data in memory')).toHaveLength(1);
    // Only from user: second-user, which names redis too, is not planned at all.
    expect(logged('environment.FIXTURE_REDIS names redis, which is skipped: dropped')).toEqual([
      expect.stringContaining('"children":["user"]'),
    ]);
    const table = launcher.stdout.slice(
      launcher.stdout.findIndex((line) => line.startsWith('NAME ')),
      -1,
    );
    expect(table.map((line) => line.split(/\s{2,}/))).toEqual([
      ['NAME', 'PID', 'ADDRESS', 'PUBLISHED', 'STATE'],
      ['user', expect.stringMatching(/^\d+$/), '127.77.10.3:7001', '-', 'healthy *'],
      ['redis', '-', '-', '-', 'skipped: redis-server not found on PATH'],
      ['second-user', '-', '-', '-', 'skipped: needs redis, which is skipped'],
      ['* user: keeps its data in memory'],
    ]);
    expect(launcher.stdout.filter((line) => line.includes('"child":"second-user"'))).toEqual([
      expect.stringContaining('"msg":"second-user skipped'),
    ]);
    launcher.signal('SIGINT');
    expect(await launcher.waitForExit()).toEqual({ code: 0, signal: null });
    expect(launcher.processes()).toEqual([]);
  });

  it('exits 1 naming the service that is not healthy by the readiness deadline', async () => {
    const launcher = new Launcher(join(fixtures, 'never-healthy.compose.yml'), {
      BULWARK_LAUNCH_READY_TIMEOUT_MS: '1500',
    });
    expect(await launcher.waitForExit()).toEqual({ code: 1, signal: null });
    expect(launcher.stderr).toEqual([
      expect.stringMatching(/^launcher: not healthy within 1500 ms: sleepy \(starting[;)]/),
    ]);
    expect(launcher.processes()).toEqual([]);
  });

  it('exits 1 when a published port is in use, before starting any service', async () => {
    const occupied = await occupy(28_001);
    try {
      const launcher = new Launcher(join(fixtures, 'fleet.compose.yml'));
      expect(await launcher.waitForExit()).toEqual({ code: 1, signal: null });
      expect(launcher.stderr).toEqual([
        'launcher: alpha: cannot publish 127.0.0.1:28001: the port is already in use (BULWARK_LAUNCH_PORT_OFFSET moves every published port)',
      ]);
      expect(launcher.stdout.some((line) => line.includes('service started'))).toBe(false);
    } finally {
      occupied.close();
    }
  });

  it('removes the data of its named volumes with --clean, and nothing else of the state directory', async () => {
    // The state directory of an earlier run, made before the launcher starts.
    const stateDir = join(scratch, 'clean-state');
    mkdirSync(join(stateDir, 'alpha-data'), { recursive: true });
    writeFileSync(join(stateDir, 'alpha-data', 'old-state'), 'from an earlier run');
    writeFileSync(join(stateDir, 'keep-me'), 'not a volume');
    const launcher = new Launcher(join(fixtures, 'fleet.compose.yml'), { BULWARK_LAUNCH_STATE_DIR: stateDir }, [
      '--clean',
    ]);
    await launcher.waitForLine((line) => line === 'fleet ready');
    expect(existsSync(join(stateDir, 'alpha-data', 'old-state'))).toBe(false);
    expect(existsSync(join(stateDir, 'keep-me'))).toBe(true);
    expect(launcher.stdout.some((line) => line.includes('"msg":"removed the data of 1 volumes"'))).toBe(true);
    launcher.signal('SIGINT');
    expect(await launcher.waitForExit()).toEqual({ code: 0, signal: null });
  });

  it('exits 2 with one line naming an unknown option', async () => {
    const launcher = new Launcher(join(fixtures, 'fleet.compose.yml'), {}, ['--clena']);
    expect(await launcher.waitForExit()).toEqual({ code: 2, signal: null });
    expect(launcher.stderr).toEqual([
      'launcher: unknown option --clena; usage: npm start [-- [--clean] [COMPOSE_FILE]]',
    ]);
  });

  it('exits 2 with one line naming a bad variable', async () => {
    const launcher = new Launcher(join(fixtures, 'fleet.compose.yml'), { BULWARK_LAUNCH_SUBNET: '10.0.0' });
    expect(await launcher.waitForExit()).toEqual({ code: 2, signal: null });
    expect(launcher.stderr).toEqual([
      'launcher: invalid configuration: BULWARK_LAUNCH_SUBNET: must be the first three octets of a loopback /24, such as 127.77.0, got "10.0.0"',
    ]);
  });

  it('exits 2 with one line naming the service and field of a bad compose file', async () => {
    const composeFile = join(scratch, 'bad.compose.yml');
    writeFileSync(
      composeFile,
      "services:\n  web:\n    build: .\n    command: ['node', 'web.js']\n    ports: ['80a:80']\n",
    );
    const launcher = new Launcher(composeFile);
    expect(await launcher.waitForExit()).toEqual({ code: 2, signal: null });
    expect(launcher.stderr).toEqual([
      `launcher: ${composeFile}: service "web" ports[0]: expected "[host_ip:]host_port:container_port" or "container_port", got "80a:80"`,
    ]);
  });
});
