import { formatStatusTable, outputPrefix } from './status-table';

describe('formatStatusTable', () => {
  it('lists running services with pid, address:ports, published ports and state, then skipped ones', () => {
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
      ],
      [{ name: 'jaeger', image: 'jaegertracing/jaeger:latest' }],
    );
    expect(table.split('\n')).toEqual([
      'NAME            PID    ADDRESS                PUBLISHED              STATE',
      'coordinator-2   4242   127.77.0.3:7001        127.0.0.1:7002->7001   healthy',
      'replica-a1      77     127.77.0.5:7100,7101   -                      running',
      'jaeger          -      -                      -                      skipped: image only',
    ]);
  });
});

describe('outputPrefix', () => {
  it('pads the name as docker compose does', () => {
    expect(outputPrefix('router-1', 13)).toBe('router-1      | ');
  });
});
