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

  it('runs an image service locally only when its command is written out and runs a local program', () => {
    const file = parseCompose(
      [
        'services:',
        '  redis:',
        '    image: redis:7',
        "    command: ['redis-server', '--dir', '/data']",
        "    volumes: ['redis-data:/data']",
        "    healthcheck: {test: ['CMD', 'redis-cli', 'ping'], timeout: 3s}",
        '    restart: unless-stopped',
        '  redis-as-image-says:',
        '    image: redis:7',
        '  shell-form:',
        '    image: redis:7',
        '    command: redis-server --dir /data',
        '  other-program:',
        '    image: jaegertracing/jaeger',
        "    command: ['jaeger', '--help']",
        'volumes:',
        '  redis-data:',
      ].join('\n'),
      '/p',
    );
    expect(file.services[0]).toEqual({
      kind: 'process',
      name: 'redis',
      image: 'redis:7',
      command: ['redis-server', '--dir', '/data'],
      environment: {},
      ports: [],
      volumes: [{ kind: 'named', volume: 'redis-data', target: '/data' }],
      healthcheck: { argv: ['redis-cli', 'ping'], timeoutMs: 3000 },
      restart: { kind: 'unless-stopped' },
      stopGracePeriodMs: 10_000,
      dependsOn: [],
    });
    expect(file.services.slice(1)).toEqual([
      { kind: 'image-only', name: 'redis-as-image-says', image: 'redis:7' },
      { kind: 'image-only', name: 'shell-form', image: 'redis:7' },
      { kind: 'image-only', name: 'other-program', image: 'jaegertracing/jaeger' },
    ]);
  });

  it('checks an image service run locally as strictly as a build service', () => {
    expect(() =>
      parseCompose(`services:\n  redis:\n    image: redis:7\n    command: [redis-server]\n    ports: ['6379a']`, '/p'),
    ).toThrow('service "redis" ports[0]: expected');
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

  describe('x-bulwark-launcher', () => {
    const file = (lockExtension: string) =>
      [
        'services:',
        '  redis-1:',
        '    image: redis:7',
        '    command: [redis-server]',
        '  redis-2:',
        '    image: redis:7',
        '    command: [redis-server]',
        '  jaeger:',
        '    image: jaegertracing/jaeger',
        '  lock:',
        '    build: .',
        '    command: [node, lock.js]',
        "    ports: ['8080:8080']",
        `    x-bulwark-launcher: ${lockExtension}`,
      ].join('\n');
    const lockOf = (lockExtension: string) =>
      parseCompose(file(lockExtension), '/p').services.find((service) => service.name === 'lock') as ProcessService;
    const problemOf = (lockExtension: string) => {
      try {
        parseCompose(file(lockExtension), '/p');
      } catch (error) {
        expect(error).toBeInstanceOf(ComposeError);
        return (error as Error).message;
      }
      throw new Error('expected a ComposeError');
    };

    it('reads browse: the pages a service serves at its published ports', () => {
      expect(lockOf('{browse: {dashboard: 8080}}').browse).toEqual([{ page: 'dashboard', containerPort: 8080 }]);
    });

    it('reads skip-without, and note-without with its note, any service of the file included', () => {
      expect(lockOf('{skip-without: [redis-1, jaeger]}')).toMatchObject({ skipWithout: ['redis-1', 'jaeger'] });
      const lock = lockOf("{note-without: [redis-1, redis-2], note: '  runs on memory  '}");
      expect(lock.noteWithout).toEqual({ services: ['redis-1', 'redis-2'], note: 'runs on memory' });
      expect(lock.skipWithout).toBeUndefined();
      expect(lockOf('{skip-without: [redis-1], note-without: [redis-2], note: x}')).toMatchObject({
        skipWithout: ['redis-1'],
        noteWithout: { services: ['redis-2'], note: 'x' },
      });
    });

    it.each([
      [
        'a list',
        '[redis-1]',
        'service "lock" x-bulwark-launcher: must be a map of skip-without, note-without, note and browse',
      ],
      [
        'an unknown key',
        '{skip-without: [redis-1], skip-with: [redis-2]}',
        'service "lock" x-bulwark-launcher.skip-with: is not a launcher setting (known: skip-without, note-without, note, browse)',
      ],
      ['an empty map', '{}', 'service "lock" x-bulwark-launcher: must set skip-without, note-without or browse'],
      [
        'a page at a port not published',
        '{browse: {dashboard: 9999}}',
        'service "lock" x-bulwark-launcher.browse.dashboard: must be a container port the service publishes, got 9999',
      ],
      [
        'a page with a path for a port',
        "{browse: {dashboard: '8080/'}}",
        'service "lock" x-bulwark-launcher.browse.dashboard: must be a container port the service publishes, got "8080/"',
      ],
      [
        'an empty browse',
        '{browse: {}}',
        'service "lock" x-bulwark-launcher.browse: must be a map of page names to published container ports, got {}',
      ],
      [
        'a string for a list',
        '{skip-without: redis-1}',
        'service "lock" x-bulwark-launcher.skip-without: must be a non-empty list of service names, got "redis-1"',
      ],
      [
        'an empty list',
        '{skip-without: []}',
        'service "lock" x-bulwark-launcher.skip-without: must be a non-empty list of service names, got []',
      ],
      [
        'a number in the list',
        '{note-without: [redis-1, 2], note: x}',
        'service "lock" x-bulwark-launcher.note-without: must be a non-empty list of service names, got ["redis-1",2]',
      ],
      [
        'a service listed twice',
        '{skip-without: [redis-1, redis-1]}',
        'service "lock" x-bulwark-launcher.skip-without[1]: redis-1 is listed twice',
      ],
      [
        'the service itself',
        '{skip-without: [lock]}',
        'service "lock" x-bulwark-launcher.skip-without[0]: names the service itself',
      ],
      [
        'an unknown service',
        '{skip-without: [redis-1, redis-3]}',
        'service "lock" x-bulwark-launcher.skip-without[1]: redis-3 is not a service of this file',
      ],
      [
        'an unknown service to note',
        '{note-without: [redis-9], note: x}',
        'service "lock" x-bulwark-launcher.note-without[0]: redis-9 is not a service of this file',
      ],
      [
        'note-without without a note',
        '{note-without: [redis-1]}',
        'service "lock" x-bulwark-launcher: note-without and note go together: the note is shown without those services',
      ],
      [
        'a note without note-without',
        '{skip-without: [redis-1], note: x}',
        'service "lock" x-bulwark-launcher: note-without and note go together: the note is shown without those services',
      ],
      [
        'a note that is not text',
        '{note-without: [redis-1], note: [x]}',
        'service "lock" x-bulwark-launcher.note: must be one non-empty line of text, got ["x"]',
      ],
      [
        'a note of two lines',
        '{note-without: [redis-1], note: "a\\nb"}',
        'service "lock" x-bulwark-launcher.note: must be one non-empty line of text, got "a\\nb"',
      ],
      [
        'a service both skipped and noted without',
        '{skip-without: [redis-1], note-without: [redis-2, redis-1], note: x}',
        'service "lock" x-bulwark-launcher.note-without[1]: redis-1 is in skip-without too, so the service never runs without it to show the note',
      ],
    ])('rejects %s, naming the field', (_case, lockExtension, message) => {
      expect(problemOf(lockExtension)).toBe(message);
    });

    it('is rejected on an image-only service, which never runs here', () => {
      expect(() =>
        parseCompose('services:\n  jaeger:\n    image: j\n    x-bulwark-launcher: {skip-without: [a]}\n', '/p'),
      ).toThrow(
        new ComposeError(
          'jaeger',
          'x-bulwark-launcher',
          'an image-only service never runs without Docker: nothing to skip or note',
        ),
      );
    });
  });

  it('rejects files without services and invalid YAML', () => {
    expect(() => parseCompose('services: {}', '/p')).toThrow('services: must be a map with at least one service');
    expect(() => parseCompose('services: [', '/p')).toThrow(/^not valid YAML/);
    expect(() => parseCompose('- a', '/p')).toThrow('must be a YAML map with services');
  });
});
