import { formatStatusTable, outputPrefix } from './status-table';

describe('formatStatusTable', () => {
  it('lists running services with pid, address:ports, published ports and state, then skipped ones and why', () => {
    const table = formatStatusTable(
      [
        {
          name: 'coordinator-2',
          address: '127.77.0.3',
          ports: [7001],
          published: [{ hostIp: '127.0.0.1', hostPort: 7002, containerPort: 7001 }],
          pid: 4242,
          state: 'healthy',
          lastProbe: 'exit code 0',
        },
        {
          name: 'replica-a1',
          address: '127.77.0.5',
          ports: [7100, 7101],
          published: [],
          pid: 77,
          state: 'running',
          lastProbe: undefined,
        },
        {
          name: 'redis-1',
          address: '127.77.0.20',
          ports: [6379],
          published: [],
          pid: 99,
          state: 'healthy',
          lastProbe: 'exit code 0',
        },
      ],
      [
        { name: 'redis-2', image: 'redis:7', because: { kind: 'program-not-found', program: 'redis-server' } },
        {
          name: 'jaeger',
          image: 'jaegertracing/jaeger:latest',
          because: { kind: 'image-only' },
          standIns: ['OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4317'],
        },
      ],
    );
    expect(table.split('\n')).toEqual([
      'NAME            PID    ADDRESS                PUBLISHED              STATE',
      'coordinator-2   4242   127.77.0.3:7001        127.0.0.1:7002->7001   healthy',
      'replica-a1      77     127.77.0.5:7100,7101   -                      running',
      'redis-1         99     127.77.0.20:6379       -                      healthy',
      'redis-2         -      -                      -                      skipped: redis-server not found on PATH',
      'jaeger          -      -                      -                      skipped: image only; your OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4317 instead',
    ]);
  });
});

describe('formatStatusTable with launcher notes and skips', () => {
  it('marks a noted service in its state, lists the note under the table, and says what a skipped one needs', () => {
    const healthy = (name: string, address: string, port: number) => ({
      name,
      address,
      ports: [port],
      published: [{ hostIp: '127.0.0.1', hostPort: port, containerPort: port }],
      pid: 4242,
      state: 'healthy' as const,
      lastProbe: 'exit code 0',
    });
    const table = formatStatusTable(
      [healthy('lock-1', '127.77.0.16', 7300), healthy('router-1', '127.77.0.14', 7200)],
      [
        { name: 'lock-2', because: { kind: 'needs-skipped', services: ['redis-1', 'redis-2', 'redis-3'] } },
        { name: 'lock-3', because: { kind: 'needs-skipped', services: ['lock-2'] } },
      ],
      [
        {
          service: 'lock-1',
          without: ['redis-1', 'redis-2', 'redis-3'],
          note: 'falls back to its memory lock backend (one instance, not fault tolerant)',
        },
      ],
    );
    expect(table.split('\n')).toEqual([
      'NAME       PID    ADDRESS            PUBLISHED              STATE',
      'lock-1     4242   127.77.0.16:7300   127.0.0.1:7300->7300   healthy *',
      'router-1   4242   127.77.0.14:7200   127.0.0.1:7200->7200   healthy',
      'lock-2     -      -                  -                      skipped: needs redis-1, redis-2, redis-3, which are skipped',
      'lock-3     -      -                  -                      skipped: needs lock-2, which is skipped',
      '* lock-1: falls back to its memory lock backend (one instance, not fault tolerant)',
    ]);
  });
});

describe('formatStatusTable with pages to open', () => {
  it('lists each running page at the address its port was published on, and none of a service not running', () => {
    const monitor = (name: string, hostPort: number) => ({
      name,
      address: '127.77.0.30',
      ports: [7400, 8080],
      published: [
        { hostIp: '127.0.0.1', hostPort: hostPort - 680, containerPort: 7400 },
        { hostIp: '127.0.0.1', hostPort, containerPort: 8080 },
      ],
      pid: 31,
      state: 'healthy' as const,
      lastProbe: 'exit code 0',
    });
    const table = formatStatusTable(
      [monitor('monitor-1', 18080), monitor('monitor-2', 18081)],
      [{ name: 'jaeger', image: 'jaegertracing/jaeger:latest', because: { kind: 'image-only' } }],
      [],
      [
        { service: 'monitor-1', page: 'dashboard', containerPort: 8080 },
        { service: 'monitor-2', page: 'dashboard', containerPort: 8080 },
        { service: 'jaeger', page: 'Jaeger UI', containerPort: 16686 },
      ],
    );
    expect(table.split('\n').slice(-3)).toEqual([
      'open in a browser:',
      '  monitor-1 dashboard   http://127.0.0.1:18080/',
      '  monitor-2 dashboard   http://127.0.0.1:18081/',
    ]);
  });
});

describe('outputPrefix', () => {
  it('pads the name as docker compose does', () => {
    expect(outputPrefix('router-1', 13)).toBe('router-1      | ');
  });
});
