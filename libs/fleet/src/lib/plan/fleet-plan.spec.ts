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
};

function byName(services: ServicePlan[], name: string): ServicePlan {
  const service = services.find((candidate) => candidate.name === name);
  if (!service) throw new Error(`no ${name} in the plan`);
  return service;
}

describe('planFleet on the repository docker-compose.yml', () => {
  const plan = planFleet(readComposeFile(join(repoRoot, 'docker-compose.yml')), settings);

  it('runs the sixteen Bulwark services in compose order and skips jaeger', () => {
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
      'monitor-1',
    ];
    // Addresses in compose order from .2 on.
    expect(plan.services.map((service) => [service.name, service.address])).toEqual(
      names.map((name, index) => [name, `127.77.0.${index + 2}`]),
    );
    expect(plan.skipped).toEqual([{ name: 'jaeger', image: 'jaegertracing/jaeger:latest' }]);
  });

  it('plans coordinator-2 with its own address, its volume, port 7002 published from 7001 and its probe', () => {
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
        BULWARK_PEERS: 'coordinator-1=127.77.0.2:7001,coordinator-2=127.77.0.3:7001,coordinator-3=127.77.0.4:7001',
        BULWARK_DATA_DIR: '/state/coordinator-2-data',
        OTEL_SERVICE_NAME: 'coordinator',
      },
      ports: [7001],
      forwards: [{ hostIp: '127.0.0.1', hostPort: 7002, containerPort: 7001 }],
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
    for (const name of ['replica-a1', 'router-1', 'lock-1', 'monitor-1']) {
      expect(byName(plan.services, name).environment.BULWARK_COORDINATORS).toBe(
        '127.77.0.2:7001,127.77.0.3:7001,127.77.0.4:7001',
      );
    }
    expect(byName(plan.services, 'replica-a1').ports).toEqual([7100]);
    expect(byName(plan.services, 'replica-a1').forwards).toEqual([]);
    expect(byName(plan.services, 'router-1').forwards).toEqual([
      { hostIp: '127.0.0.1', hostPort: 7200, containerPort: 7200 },
    ]);
    expect(byName(plan.services, 'lock-1').forwards[0]?.hostPort).toBe(7300);
    expect(byName(plan.services, 'monitor-1').forwards[0]?.hostPort).toBe(7400);
  });

  it('drops the Jaeger endpoint from every service and says so', () => {
    expect(plan.references).toHaveLength(16);
    expect(plan.references[0]).toEqual({
      service: 'coordinator-1',
      field: 'environment.OTEL_EXPORTER_OTLP_ENDPOINT',
      skippedService: 'jaeger',
      outcome: 'dropped',
    });
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
  });
});

describe('planFleet', () => {
  const compose = (services: string, extra = '') => parseCompose(`services:\n${services}\n${extra}`, '/project');

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
