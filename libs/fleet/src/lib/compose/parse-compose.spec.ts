import { ComposeError } from './compose-error';
import type { ProcessService } from './compose-model';
import { parseCompose } from './parse-compose';

const base = `
x-service: &service
  build: .
  restart: unless-stopped
  stop_grace_period: 15s
`;

function parseOne(service: string, extra = ''): ProcessService {
  const file = parseCompose(`${base}\nservices:\n  svc:\n${service.replace(/^/gm, '    ')}\n${extra}`, '/project');
  return file.services[0] as ProcessService;
}

function problem(service: string, extra = ''): string {
  try {
    parseOne(service, extra);
  } catch (error) {
    expect(error).toBeInstanceOf(ComposeError);
    return (error as Error).message;
  }
  throw new Error('expected a ComposeError');
}

describe('parseCompose', () => {
  it('applies merge keys and lets the service override them', () => {
    const service = parseOne(`<<: *service\nrestart: always\ncommand: ['node', 'main.js']`);
    expect(service).toMatchObject({
      kind: 'process',
      command: ['node', 'main.js'],
      restart: { kind: 'always' },
      stopGracePeriodMs: 15_000,
    });
  });

  it('reads defaults: no restart, 10 s grace, nothing else', () => {
    expect(parseOne(`build: .\ncommand: [a]`)).toEqual({
      kind: 'process',
      name: 'svc',
      command: ['a'],
      environment: {},
      ports: [],
      volumes: [],
      restart: { kind: 'no' },
      stopGracePeriodMs: 10_000,
      dependsOn: [],
    });
  });

  it('keeps an image-only service as skipped, with build taking precedence over image', () => {
    const file = parseCompose(
      `services:\n  jaeger:\n    image: jaegertracing/jaeger\n  app:\n    build: .\n    image: bulwark:dev\n    command: [a]`,
      '/p',
    );
    expect(file.services.map((service) => [service.name, service.kind])).toEqual([
      ['jaeger', 'image-only'],
      ['app', 'process'],
    ]);
  });

  it('reads the environment in map and list form', () => {
    expect(
      parseOne(`build: .\ncommand: [a]\nenvironment:\n  A: x\n  B: 7001\n  C: true\n  D:\n  E: a=b`).environment,
    ).toEqual({ A: 'x', B: '7001', C: 'true', D: null, E: 'a=b' });
    expect(parseOne(`build: .\ncommand: [a]\nenvironment: ['A=x', 'B=', 'C', 'D=a=b']`).environment).toEqual({
      A: 'x',
      B: '',
      C: null,
      D: 'a=b',
    });
  });

  it('reads ports in every short form', () => {
    expect(
      parseOne(
        `build: .\ncommand: [a]\nports: ['7002:7001', '127.0.0.1:7003:7001', '7200', 7300, '127.0.0.1::7400', '80/tcp']`,
      ).ports,
    ).toEqual([
      { hostPort: 7002, containerPort: 7001 },
      { hostIp: '127.0.0.1', hostPort: 7003, containerPort: 7001 },
      { containerPort: 7200 },
      { containerPort: 7300 },
      { hostIp: '127.0.0.1', containerPort: 7400 },
      { containerPort: 80 },
    ]);
  });

  it('reads named volumes and bind mounts', () => {
    const service = parseOne(
      `build: .\ncommand: [a]\nvolumes: ['data:/data/', './conf:/etc/conf:ro', '/abs:/abs']`,
      'volumes:\n  data:\n',
    );
    expect(service.volumes).toEqual([
      { kind: 'named', volume: 'data', target: '/data' },
      { kind: 'bind', hostPath: './conf', target: '/etc/conf' },
      { kind: 'bind', hostPath: '/abs', target: '/abs' },
    ]);
  });

  it('reads healthcheck forms', () => {
    const check = (test: string) => parseOne(`build: .\ncommand: [a]\nhealthcheck:\n  test: ${test}\n  timeout: 3s`);
    expect(check(`['CMD', 'node', 'probe.js', 'localhost:7001']`).healthcheck).toEqual({
      argv: ['node', 'probe.js', 'localhost:7001'],
      timeoutMs: 3000,
    });
    expect(check(`['CMD-SHELL', 'probe localhost:7001 || exit 1']`).healthcheck?.argv).toEqual([
      '/bin/sh',
      '-c',
      'probe localhost:7001 || exit 1',
    ]);
    expect(check(`probe localhost`).healthcheck?.argv).toEqual(['/bin/sh', '-c', 'probe localhost']);
    expect(check(`['NONE']`).healthcheck).toBeUndefined();
    expect(
      parseOne(`build: .\ncommand: [a]\nhealthcheck:\n  test: [CMD, x]\n  start_interval: 1m1.5s`).healthcheck,
    ).toEqual({ argv: ['x'], timeoutMs: 30_000, startIntervalMs: 61_500 });
    expect(
      parseOne(`build: .\ncommand: [a]\nhealthcheck:\n  test: [CMD, x]\n  disable: true`).healthcheck,
    ).toBeUndefined();
  });

  it('reads restart policies and depends_on in both forms', () => {
    expect(parseOne(`build: .\ncommand: [a]\nrestart: on-failure:3`).restart).toEqual({
      kind: 'on-failure',
      retriesMax: 3,
    });
    expect(parseOne(`build: .\ncommand: [a]\nrestart: no`).restart).toEqual({ kind: 'no' });
    expect(parseOne(`build: .\ncommand: [a]\ndepends_on: [x, nowhere]`).dependsOn).toEqual([
      { service: 'x', condition: 'service_started' },
      { service: 'nowhere', condition: 'service_started' },
    ]);
    expect(
      parseOne(`build: .\ncommand: [a]\ndepends_on:\n  x:\n    condition: service_healthy\n  y: {}`).dependsOn,
    ).toEqual([
      { service: 'x', condition: 'service_healthy' },
      { service: 'y', condition: 'service_started' },
    ]);
  });

  it.each([
    ['neither build nor image', `command: [a]`, 'service "svc" build/image: needs build'],
    ['a shell-string command', `build: .\ncommand: node main.js`, 'service "svc" command: must be a non-empty list'],
    ['a command with a number', `build: .\ncommand: [node, 1]`, 'service "svc" command: must be a non-empty list'],
    ['no command', `build: .`, 'service "svc" command: must be a non-empty list of strings'],
    ['a malformed port', `build: .\ncommand: [a]\nports: ['70a2:7001']`, 'service "svc" ports[0]: expected'],
    ['a port above 65535', `build: .\ncommand: [a]\nports: ['70000:7001']`, 'service "svc" ports[0]: expected'],
    ['a port range', `build: .\ncommand: [a]\nports: ['7000-7002:7000-7002']`, 'ports[0]: port ranges'],
    ['a udp port', `build: .\ncommand: [a]\nports: ['53:53/udp']`, 'ports[0]: only TCP'],
    ['a bad host ip', `build: .\ncommand: [a]\nports: ['localhost:1:2']`, 'ports[0]: host_ip must be'],
    ['an undeclared volume', `build: .\ncommand: [a]\nvolumes: ['nope:/data']`, 'volumes[0]: named volume "nope"'],
    ['an anonymous volume', `build: .\ncommand: [a]\nvolumes: ['/data']`, 'volumes[0]: anonymous volumes'],
    ['a relative target', `build: .\ncommand: [a]\nvolumes: ['./x:data']`, 'volumes[0]: target must be'],
    ['a bad duration', `build: .\ncommand: [a]\nstop_grace_period: 10`, 'stop_grace_period: must be a duration'],
    ['a bad restart', `build: .\ncommand: [a]\nrestart: sometimes`, 'restart: must be no, always'],
    ['a bad healthcheck', `build: .\ncommand: [a]\nhealthcheck:\n  test: [RUN, x]`, 'healthcheck.test: must be'],
    ['a nested env value', `build: .\ncommand: [a]\nenvironment:\n  A: [1]`, 'environment.A: must be a string'],
    ['a duplicate env', `build: .\ncommand: [a]\nenvironment: [A=1, A=2]`, 'environment[1]: A is set twice'],
    ['a bad condition', `build: .\ncommand: [a]\ndepends_on:\n  x:\n    condition: maybe`, 'depends_on.x.condition'],
  ])('rejects %s naming the service and field', (_case, service, expected) => {
    expect(problem(service)).toContain(expected);
  });

  it('rejects files without services and invalid YAML', () => {
    expect(() => parseCompose('services: {}', '/p')).toThrow('services: must be a map with at least one service');
    expect(() => parseCompose('services: [', '/p')).toThrow(/^not valid YAML/);
    expect(() => parseCompose('- a', '/p')).toThrow('must be a YAML map with services');
  });
});
