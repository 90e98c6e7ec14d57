import { join } from 'node:path';
import { ComposeError } from '../compose/compose-error';
import { parseCompose } from '../compose/parse-compose';
import { readComposeFile } from '../compose/read-compose-file';
import { planFleet } from './fleet-plan';
import type { PlanSettings, ServicePlan } from './plan-model';

const repoRoot = join(__dirname, '../../../../..');

const settings: PlanSettings = {
  subnet: '127.77.0',
  stateDir: '/state',
  portOffset: 0,
  environment: {
    PATH: '/usr/bin',
    HOME: '/home/me',
    NODE_OPTIONS: '--inspect',
    SECRET: 'x',
    npm_lifecycle_event: 'start',
  },
  programsOnPath: new Set(['redis-server', 'redis-cli']),
};

function byName(services: ServicePlan[], name: string): ServicePlan {
  const service = services.find((candidate) => candidate.name === name);
  if (!service) throw new Error(`no ${name} in the plan`);
  return service;
}

describe('planFleet on the repository docker-compose.yml', () => {
  const plan = planFleet(readComposeFile(join(repoRoot, 'docker-compose.yml')), settings);

  it('runs the eighteen Bulwark services and the three Redis servers in compose order and skips jaeger and prometheus', () => {
    expect(plan.projectDir).toBe(repoRoot);
    const replicas = ['a', 'b', 'c'].flatMap((group) => [1, 2, 3].map((index) => `replica-${group}${index}`));
    const names = [
      'coordinator-1',
      'coordinator-2',
      'coordinator-3',
      ...replicas,
      'router-1',
      'router-2',
      'lock-1',
      'lock-2',
      'monitor-1',
      'monitor-2',
      'redis-1',
      'redis-2',
      'redis-3',
    ];
    // Addresses in compose order from .2 on.
    expect(plan.services.map((service) => [service.name, service.address])).toEqual(
      names.map((name, index) => [name, `127.77.0.${index + 2}`]),
    );
    expect(plan.skipped).toEqual([
      { name: 'jaeger', image: 'jaegertracing/jaeger:latest', because: { kind: 'image-only' } },
      { name: 'prometheus', image: 'prom/prometheus:latest', because: { kind: 'image-only' } },
    ]);
  });

  it('runs redis-1 from the local redis-server on its own address, its volume, and its probe aimed at it', () => {
    expect(byName(plan.services, 'redis-1')).toEqual({
      name: 'redis-1',
      address: '127.77.0.20',
      command: [
        'redis-server',
        '--bind',
        '127.77.0.20',
        '--port',
        '6379',
        '--appendonly',
        'yes',
        '--appendfsync',
        'always',
        '--notify-keyspace-events',
        'Ex',
        '--dir',
        '/state/redis-1-data',
        '--save',
        '',
        '--protected-mode',
        'no',
      ],
      environment: { PATH: '/usr/bin', HOME: '/home/me' },
      ports: [6379],
      forwards: [],
      directories: ['/state/redis-1-data'],
      healthcheck: {
        argv: ['redis-cli', '-h', '127.77.0.20', '-p', '6379', 'ping'],
        timeoutMs: 3000,
        intervalMs: 500,
      },
      restart: { kind: 'unless-stopped' },
      stopGracePeriodMs: 10_000,
      startAfterHealthy: [],
    });
  });

  it('points both lock services at the three Redis servers and starts them once those are healthy', () => {
    for (const [name, backend] of [
      ['lock-1', 'auto'],
      ['lock-2', 'redis'],
    ]) {
      const lock = byName(plan.services, name as string);
      expect(lock.environment).toMatchObject({
        BULWARK_LOCK_BACKEND: backend,
        BULWARK_REDIS_SERVERS: '127.77.0.20:6379,127.77.0.21:6379,127.77.0.22:6379',
      });
      expect(lock.startAfterHealthy).toEqual([
        'coordinator-1',
        'coordinator-2',
        'coordinator-3',
        'redis-1',
        'redis-2',
        'redis-3',
      ]);
    }
    expect(plan.notes).toEqual([]);
    expect(byName(plan.services, 'lock-2')).toMatchObject({
      address: '127.77.0.17',
      environment: { BULWARK_MEMBER_ID: 'lock-2', BULWARK_LISTEN_ADDR: '127.77.0.17:7300' },
      forwards: [
        { hostIp: '127.0.0.1', hostPort: 7301, containerPort: 7300 },
        { hostIp: '127.0.0.1', hostPort: 9132, containerPort: 9464 },
      ],
    });
  });

  it('skips the Redis servers and lock-2 where redis-server is not on PATH, keeping every other address', () => {
    const withoutRedis = planFleet(readComposeFile(join(repoRoot, 'docker-compose.yml')), {
      ...settings,
      programsOnPath: new Set(['redis-cli']),
    });
    const redisServers = ['redis-1', 'redis-2', 'redis-3'];
    expect(withoutRedis.skipped).toEqual([
      { name: 'lock-2', because: { kind: 'needs-skipped', services: redisServers } },
      ...redisServers.map((name) => ({
        name,
        image: 'redis:7',
        because: { kind: 'program-not-found', program: 'redis-server' },
      })),
      { name: 'jaeger', image: 'jaegertracing/jaeger:latest', because: { kind: 'image-only' } },
      { name: 'prometheus', image: 'prom/prometheus:latest', because: { kind: 'image-only' } },
    ]);
    expect(withoutRedis.services.map((service) => [service.name, service.address])).toEqual(
      plan.services
        .filter((service) => ![...redisServers, 'lock-2'].includes(service.name))
        .map((service) => [service.name, service.address]),
    );
    // lock-1 starts on its memory backend once the coordinators are healthy: its Redis list is dropped as the
    // Jaeger endpoint is.
    const lock = byName(withoutRedis.services, 'lock-1');
    expect(lock.startAfterHealthy).toEqual(['coordinator-1', 'coordinator-2', 'coordinator-3']);
    expect(lock.environment.BULWARK_REDIS_SERVERS).toBeUndefined();
    expect(lock.environment.BULWARK_LOCK_BACKEND).toBe('auto');
    expect(withoutRedis.notes).toEqual([
      {
        service: 'lock-1',
        without: redisServers,
        note: 'falls back to its memory lock backend (one instance, not fault tolerant)',
      },
    ]);
    expect(withoutRedis.references.filter((reference) => reference.skippedService !== 'jaeger')).toEqual([
      {
        service: 'lock-1',
        field: 'environment.BULWARK_REDIS_SERVERS',
        skippedService: 'redis-1',
        outcome: 'dropped',
      },
    ]);
  });

  it('plans coordinator-2 with its own address, its volume, ports 7002 and 9102 published from 7001 and 9464, and its probe', () => {
    const coordinator = byName(plan.services, 'coordinator-2');
    expect(coordinator).toEqual({
      name: 'coordinator-2',
      address: '127.77.0.3',
      command: ['node', '--require', './dist/libs/telemetry/register.js', 'dist/apps/coordinator/main.js'],
      environment: {
        PATH: '/usr/bin',
        HOME: '/home/me',
        BULWARK_MEMBER_ID: 'coordinator-2',
        BULWARK_LISTEN_ADDR: '127.77.0.3:7001',
        BULWARK_ADVERTISE_ADDR: '127.77.0.3:7001',
        BULWARK_METRICS_ADDR: '127.77.0.3:9464',
        BULWARK_PEERS: 'coordinator-1=127.77.0.2:7001,coordinator-2=127.77.0.3:7001,coordinator-3=127.77.0.4:7001',
        BULWARK_DATA_DIR: '/state/coordinator-2-data',
        OTEL_SERVICE_NAME: 'coordinator',
      },
      ports: [7001, 9464],
      forwards: [
        { hostIp: '127.0.0.1', hostPort: 7002, containerPort: 7001 },
        { hostIp: '127.0.0.1', hostPort: 9102, containerPort: 9464 },
      ],
      directories: ['/state/coordinator-2-data'],
      healthcheck: {
        argv: ['node', 'dist/tools/health-probe/main.js', '127.77.0.3:7001'],
        timeoutMs: 3000,
        intervalMs: 500,
      },
      restart: { kind: 'unless-stopped' },
      stopGracePeriodMs: 15_000,
      startAfterHealthy: [],
    });
  });

  it('points replicas, routers, locks and monitors at the coordinators', () => {
    for (const name of ['replica-a1', 'router-1', 'lock-1', 'lock-2', 'monitor-1', 'monitor-2']) {
      expect(byName(plan.services, name).environment.BULWARK_COORDINATORS).toBe(
        '127.77.0.2:7001,127.77.0.3:7001,127.77.0.4:7001',
      );
    }
    expect(byName(plan.services, 'replica-a1').ports).toEqual([7100, 9464]);
    // A replica publishes only its metrics: clients reach it through the routers.
    expect(byName(plan.services, 'replica-a1').forwards).toEqual([
      { hostIp: '127.0.0.1', hostPort: 9111, containerPort: 9464 },
    ]);
    expect(byName(plan.services, 'router-1').forwards).toEqual([
      { hostIp: '127.0.0.1', hostPort: 7200, containerPort: 7200 },
      { hostIp: '127.0.0.1', hostPort: 9121, containerPort: 9464 },
    ]);
    expect(byName(plan.services, 'lock-1').forwards[0]?.hostPort).toBe(7300);
    expect(byName(plan.services, 'monitor-1').forwards.map((forward) => forward.hostPort)).toEqual([7400, 8080, 9141]);
    expect(byName(plan.services, 'monitor-2').forwards.map((forward) => forward.hostPort)).toEqual([7401, 8081, 9142]);
  });

  it("serves every Bulwark service's metrics on its own address, published from 127.0.0.1", () => {
    const bulwark = plan.services.filter((service) => service.environment.BULWARK_MEMBER_ID !== undefined);
    for (const service of bulwark) {
      expect([service.name, service.environment.BULWARK_METRICS_ADDR]).toEqual([
        service.name,
        `${service.address}:9464`,
      ]);
      expect(service.forwards.filter((forward) => forward.containerPort === 9464)).toHaveLength(1);
    }
    const metricsPorts = bulwark.flatMap((service) =>
      service.forwards.filter((forward) => forward.containerPort === 9464).map((forward) => forward.hostPort),
    );
    expect(metricsPorts).toEqual([
      9101, 9102, 9103, 9111, 9112, 9113, 9114, 9115, 9116, 9117, 9118, 9119, 9121, 9122, 9131, 9132, 9141, 9142,
    ]);
  });

  it('drops the Jaeger endpoint from every service and says so', () => {
    expect(plan.references).toHaveLength(18);
    expect(plan.references[0]).toEqual({
      service: 'coordinator-1',
      field: 'environment.OTEL_EXPORTER_OTLP_ENDPOINT',
      skippedService: 'jaeger',
      outcome: 'dropped',
    });
    expect(plan.references.every((reference) => reference.skippedService === 'jaeger')).toBe(true);
    for (const service of plan.services) expect(service.environment.OTEL_EXPORTER_OTLP_ENDPOINT).toBeUndefined();
  });

  it("passes the user's OTLP endpoint through unchanged instead", () => {
    const withJaeger = planFleet(readComposeFile(join(repoRoot, 'docker-compose.yml')), {
      ...settings,
      environment: { ...settings.environment, OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4317' },
    });
    expect(byName(withJaeger.services, 'router-1').environment.OTEL_EXPORTER_OTLP_ENDPOINT).toBe(
      'http://127.0.0.1:4317',
    );
    expect(
      withJaeger.references.every((reference) => reference.outcome === 'replaced by the launcher environment'),
    ).toBe(true);
    // Jaeger is still skipped, and says what stands in for it.
    expect(withJaeger.skipped.find((service) => service.name === 'jaeger')?.standIns).toEqual([
      'OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4317',
    ]);
    expect(withJaeger.skipped.find((service) => service.name === 'prometheus')?.standIns).toBeUndefined();
    expect(plan.skipped.find((service) => service.name === 'jaeger')?.standIns).toBeUndefined();
  });
});

describe('planFleet', () => {
  const compose = (services: string, extra = '') => parseCompose(`services:\n${services}\n${extra}`, '/project');

  it("gives each service a tool's variables for it, last, knowing its name and address", () => {
    const plan = planFleet(compose(`  a:\n    build: .\n    command: [x]\n    environment: [ADDR=mine]`), {
      ...settings,
      serviceEnvironment: ({ name, address }) => ({ ADDR: `${address}:7999`, SERVICE: name }),
    });
    expect(byName(plan.services, 'a').environment).toMatchObject({ ADDR: '127.77.0.2:7999', SERVICE: 'a' });
  });

  it('passes PATH, HOME and OTEL_* from the launcher and nothing else', () => {
    const plan = planFleet(
      compose(`  a:\n    build: .\n    command: [x]\n    environment: [OTEL_SERVICE_NAME=a, KEEP]`),
      {
        ...settings,
        environment: {
          ...settings.environment,
          OTEL_SERVICE_NAME: 'mine',
          OTEL_TRACES_SAMPLER: 'always_off',
          KEEP: 'k',
        },
      },
    );
    expect(plan.services[0]?.environment).toEqual({
      PATH: '/usr/bin',
      HOME: '/home/me',
      KEEP: 'k',
      OTEL_SERVICE_NAME: 'mine',
      OTEL_TRACES_SAMPLER: 'always_off',
    });
  });

  it('rewrites command and probe arguments, offsets published ports and resolves bind mounts', () => {
    const plan = planFleet(
      compose(
        `  a:\n    build: .\n    command: [node, a.js, --listen, 'localhost:80', --peer, 'http://b:81', --dir, /cfg]\n` +
          `    ports: ['8080:80', '81']\n    volumes: ['./conf:/cfg']\n` +
          `    healthcheck:\n      test: [CMD-SHELL, 'probe localhost:80 b:81']\n` +
          `  b:\n    build: .\n    command: [node, b.js]\n    depends_on:\n      a:\n        condition: service_healthy\n      gone:\n        condition: service_healthy`,
      ),
      { ...settings, subnet: '127.77.9', portOffset: 20_000 },
    );
    const [a, b] = plan.services as [ServicePlan, ServicePlan];
    expect(a.command).toEqual([
      'node',
      'a.js',
      '--listen',
      '127.77.9.2:80',
      '--peer',
      'http://127.77.9.3:81',
      '--dir',
      '/project/conf',
    ]);
    expect(a.healthcheck?.argv).toEqual(['/bin/sh', '-c', 'probe 127.77.9.2:80 127.77.9.3:81']);
    expect(a.forwards).toEqual([
      { hostIp: '127.0.0.1', hostPort: 28080, containerPort: 80 },
      { hostIp: '127.0.0.1', hostPort: 0, containerPort: 81 },
    ]);
    expect(a.ports).toEqual([80, 81]);
    expect(a.directories).toEqual(['/project/conf']);
    expect(b.startAfterHealthy).toEqual(['a']);
  });

  it('keeps arguments that name a skipped service and reports them', () => {
    const plan = planFleet(
      compose(`  a:\n    build: .\n    command: [x, 'redis:6379']\n  redis:\n    image: redis`),
      settings,
    );
    expect(plan.services[0]?.command).toEqual(['x', 'redis:6379']);
    expect(plan.references).toEqual([{ service: 'a', field: 'command[1]', skippedService: 'redis', outcome: 'kept' }]);
  });

  describe('an image service whose command runs a local program', () => {
    const services =
      `  cache:\n    image: redis:7\n    command: [redis-server, --bind, 0.0.0.0, --dir, /data]\n` +
      `    volumes: ['cache-data:/data']\n    healthcheck: {test: [CMD, redis-cli, ping], timeout: 1s}\n` +
      `  app:\n    build: .\n    command: [x]\n    environment: {CACHE: 'cache:6379'}\n` +
      `    depends_on: {cache: {condition: service_healthy}}\n`;
    const volumes = 'volumes:\n  cache-data:\n';

    it('runs where its programs are on PATH, on its own address and volume, probed there', () => {
      const plan = planFleet(compose(services, volumes), settings);
      const [cache, app] = plan.services as [ServicePlan, ServicePlan];
      expect(cache).toMatchObject({
        name: 'cache',
        address: '127.77.0.2',
        command: ['redis-server', '--bind', '127.77.0.2', '--dir', '/state/cache-data'],
        ports: [6379],
        directories: ['/state/cache-data'],
        healthcheck: { argv: ['redis-cli', '-h', '127.77.0.2', 'ping'], timeoutMs: 1000 },
      });
      expect(app.environment.CACHE).toBe('127.77.0.2:6379');
      expect(app.startAfterHealthy).toEqual(['cache']);
      expect(plan.skipped).toEqual([]);
    });

    it('is skipped naming the first program missing, its address kept free, and its users told', () => {
      for (const [found, missing] of [
        [[], 'redis-server'],
        [['redis-server'], 'redis-cli'],
      ] as const) {
        const plan = planFleet(compose(services, volumes), { ...settings, programsOnPath: new Set(found) });
        expect(plan.skipped).toEqual([
          { name: 'cache', image: 'redis:7', because: { kind: 'program-not-found', program: missing } },
        ]);
        expect(plan.services.map((service) => [service.name, service.address, service.startAfterHealthy])).toEqual([
          ['app', '127.77.0.3', []],
        ]);
        expect(plan.references).toEqual([
          { service: 'app', field: 'environment.CACHE', skippedService: 'cache', outcome: 'dropped' },
        ]);
      }
    });
  });

  describe('x-bulwark-launcher', () => {
    // db is an image service run from redis-server; the others are build services around it.
    const services = [
      `  db:\n    image: redis:7\n    command: [redis-server]`,
      `  primary:\n    build: .\n    command: [x]\n    environment: {DB: 'db:6379'}` +
        `\n    x-bulwark-launcher: {note-without: [db, jaeger], note: keeps its data in memory}`,
      `  secondary:\n    build: .\n    command: [x]\n    environment: {DB: 'db:6379', PRIMARY: 'primary:1'}` +
        `\n    x-bulwark-launcher: {skip-without: [db, primary]}`,
      `  reader:\n    build: .\n    command: [x]\n    environment: {FROM: 'secondary:1'}` +
        `\n    depends_on: [secondary]\n    x-bulwark-launcher: {skip-without: [secondary], note-without: [db], note: n}`,
      `  watcher:\n    build: .\n    command: [x]\n    environment: {WATCH: 'reader:1'}`,
      `  jaeger:\n    image: jaegertracing/jaeger`,
    ].join('\n');
    const withDb = { ...settings, programsOnPath: new Set(['redis-server']) };
    const withoutDb = { ...settings, programsOnPath: new Set<string>() };

    it('runs everything where the services they name run, noting only what is skipped', () => {
      const plan = planFleet(compose(services), withDb);
      expect(plan.services.map((service) => service.name)).toEqual(['db', 'primary', 'secondary', 'reader', 'watcher']);
      expect(plan.skipped).toEqual([
        { name: 'jaeger', image: 'jaegertracing/jaeger', because: { kind: 'image-only' } },
      ]);
      expect(plan.notes).toEqual([{ service: 'primary', without: ['jaeger'], note: 'keeps its data in memory' }]);
    });

    it('skips a service with a skipped service it must not run without, and those needing it in turn', () => {
      const plan = planFleet(compose(services), withoutDb);
      expect(plan.skipped).toEqual([
        { name: 'db', image: 'redis:7', because: { kind: 'program-not-found', program: 'redis-server' } },
        { name: 'secondary', because: { kind: 'needs-skipped', services: ['db'] } },
        { name: 'reader', because: { kind: 'needs-skipped', services: ['secondary'] } },
        { name: 'jaeger', image: 'jaegertracing/jaeger', because: { kind: 'image-only' } },
      ]);
      // Addresses stay where they are with everything running.
      expect(plan.services.map((service) => [service.name, service.address])).toEqual([
        ['primary', '127.77.0.3'],
        ['watcher', '127.77.0.6'],
      ]);
      // reader's note is not shown: it does not run at all.
      expect(plan.notes).toEqual([{ service: 'primary', without: ['db', 'jaeger'], note: 'keeps its data in memory' }]);
      // A cascaded skip is skipped for those naming it, as any other.
      expect(byName(plan.services, 'watcher').environment.WATCH).toBeUndefined();
      expect(plan.references).toEqual([
        { service: 'primary', field: 'environment.DB', skippedService: 'db', outcome: 'dropped' },
        { service: 'watcher', field: 'environment.WATCH', skippedService: 'reader', outcome: 'dropped' },
      ]);
    });

    it('names every skipped service a skip needs, also those skipped after it in compose order', () => {
      const plan = planFleet(
        compose(
          `  first:\n    build: .\n    command: [x]\n    x-bulwark-launcher: {skip-without: [db, second, third]}\n` +
            `  second:\n    build: .\n    command: [x]\n    x-bulwark-launcher: {skip-without: [db]}\n` +
            `  third:\n    build: .\n    command: [x]\n` +
            `  db:\n    image: redis:7\n    command: [redis-server]`,
        ),
        withoutDb,
      );
      expect(plan.skipped.map(({ name, because }) => [name, because])).toEqual([
        ['first', { kind: 'needs-skipped', services: ['db', 'second'] }],
        ['second', { kind: 'needs-skipped', services: ['db'] }],
        ['db', { kind: 'program-not-found', program: 'redis-server' }],
      ]);
      expect(plan.services.map((service) => service.name)).toEqual(['third']);
    });

    it('runs services that only need each other', () => {
      const plan = planFleet(
        compose(
          `  a:\n    build: .\n    command: [x]\n    x-bulwark-launcher: {skip-without: [b]}\n` +
            `  b:\n    build: .\n    command: [x]\n    x-bulwark-launcher: {skip-without: [a]}`,
        ),
        withoutDb,
      );
      expect(plan.services.map((service) => service.name)).toEqual(['a', 'b']);
      expect(plan.skipped).toEqual([]);
    });
  });

  it.each([
    [
      'a host port published twice',
      `  a:\n    build: .\n    command: [x]\n    ports: ['80:80']\n  b:\n    build: .\n    command: [x]\n    ports: ['127.0.0.1:80:81']`,
      'service "b" ports[0]: host port 80 is also published by a',
    ],
    [
      'a waiting cycle',
      `  a:\n    build: .\n    command: [x]\n    healthcheck: {test: [CMD, p]}\n    depends_on: {b: {condition: service_healthy}}\n` +
        `  b:\n    build: .\n    command: [x]\n    healthcheck: {test: [CMD, p]}\n    depends_on: {a: {condition: service_healthy}}`,
      'service "a" depends_on: waits for itself: a -> b -> a',
    ],
    [
      'waiting for health that is never checked',
      `  a:\n    build: .\n    command: [x]\n  b:\n    build: .\n    command: [x]\n    depends_on: {a: {condition: service_healthy}}`,
      'service "b" depends_on.a: service_healthy needs a healthcheck',
    ],
  ])('rejects %s', (_case, services, message) => {
    expect(() => planFleet(compose(services), settings)).toThrow(new ComposeError(undefined, undefined, message));
  });

  it('rejects a host port pushed past 65535 by the offset', () => {
    expect(() =>
      planFleet(compose(`  a:\n    build: .\n    command: [x]\n    ports: ['7001:1']`), {
        ...settings,
        portOffset: 60_000,
      }),
    ).toThrow('service "a" ports[0]: host port 7001 plus offset 60000 is above 65535');
  });
});
