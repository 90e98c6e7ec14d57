import { failoversOf, failoverTable, ratioTable, type CompareCell } from './compare-tables';

function cell(
  label: string,
  system: CompareCell['system'],
  inFlight: number,
  opsPerS: number,
  cpu: number,
): CompareCell {
  return {
    workload: 'put',
    system,
    label,
    inFlight,
    opsPerS,
    p50Ms: 1,
    p99Ms: 10_000 / opsPerS,
    serverCpuUsPerOp: cpu,
    serverCpuUsPerOpByProcess: {},
    clientCpuUsPerOp: 0,
  };
}

describe('the comparison tables', () => {
  it("set each Bulwark row against its peer's at the same in-flight level, and leave out rows missing either", () => {
    const table = ratioTable([
      cell('Put sync', 'Bulwark', 64, 3_000, 300),
      cell('etcd Put', 'etcd', 64, 4_000, 200),
      cell('Put sync', 'Bulwark', 16, 2_000, 500),
      cell('Put sync, straight to the primary', 'Bulwark', 64, 3_750, 150),
      cell('Get STRONG', 'Bulwark', 64, 5_000, 100),
    ]);
    expect(table.rows).toEqual([
      ['Put sync / etcd Put', 64, 0.75, 1.33, 1.5],
      ['Put sync / Put sync, straight to the primary', 64, 0.8, 1.25, 2],
    ]);
  });

  it('give each system its kills, median and max, and its median over etcd', () => {
    const bulwark = failoversOf('Bulwark', [700, undefined, 500, 600]);
    expect(bulwark).toEqual({ system: 'Bulwark', ackMs: [500, 600, 700], givenUp: 1 });
    const table = failoverTable([bulwark, failoversOf('etcd', [2_000, 2_400, 1_600])]);
    expect(table.rows).toEqual([
      ['Bulwark', 4, 1, 600, 700, 0.3],
      ['etcd', 3, 0, 2_000, 2_400, 1],
    ]);
  });

  it('leave the ratio to etcd out when etcd did not run', () => {
    expect(failoverTable([failoversOf('Bulwark', [650])]).rows).toEqual([['Bulwark', 1, 0, 650, 650, '-']]);
  });
});
