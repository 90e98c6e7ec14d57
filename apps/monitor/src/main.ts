import { ConfigError, hostPortList, int, listenAddressOrOff, oneOf, writableDirectory } from '@bulwark/config';
import { coordinatorV1 } from '@bulwark/contracts';
import { registerUntilStopped } from '@bulwark/coordinator-client';
import { MonitorNode } from '@bulwark/monitor-server';
import { runService } from '@bulwark/rpc';
import { flushTelemetry } from '@bulwark/telemetry';

let node: MonitorNode | undefined;

const registration = registerUntilStopped(coordinatorV1.MemberRole.MEMBER_ROLE_MONITOR);

void runService({
  service: 'monitor',
  defaultPort: 7400,
  settings: {
    coordinators: hostPortList('BULWARK_COORDINATORS', { min: 1, max: 7 }),
    dataDir: writableDirectory('BULWARK_DATA_DIR'),
    probeIntervalMs: int('BULWARK_MONITOR_PROBE_INTERVAL_MS', { min: 10, max: 60_000, default: 100 }),
    probeDeadlineMs: int('BULWARK_MONITOR_PROBE_DEADLINE_MS', { min: 10, max: 60_000, default: 500 }),
    canaryIntervalMs: int('BULWARK_MONITOR_CANARY_INTERVAL_MS', { min: 100, max: 3_600_000, default: 1_000 }),
    reportSuspects: oneOf('BULWARK_MONITOR_REPORT_SUSPECTS', ['on', 'off'], 'on'),
    // Unset: the listen address's host, port 8080.
    dashboardAddress: listenAddressOrOff('BULWARK_DASHBOARD_ADDR'),
  },
  validate: (config) => {
    if (config.probeDeadlineMs < config.probeIntervalMs) {
      throw new ConfigError(
        'BULWARK_MONITOR_PROBE_DEADLINE_MS',
        `must be at least BULWARK_MONITOR_PROBE_INTERVAL_MS (${config.probeIntervalMs}), got ${config.probeDeadlineMs}`,
      );
    }
  },
  prepare: async (config, logger) => {
    node = MonitorNode.open({
      memberId: config.memberId,
      coordinators: config.coordinators,
      dataDir: config.dataDir,
      probeIntervalMs: config.probeIntervalMs,
      probeDeadlineMs: config.probeDeadlineMs,
      canaryIntervalMs: config.canaryIntervalMs,
      reportSuspects: config.reportSuspects === 'on',
      dashboardAddress:
        config.dashboardAddress === undefined
          ? { host: config.listenAddress.host, port: 8080 }
          : config.dashboardAddress,
      logger,
    });
  },
  services: (kit) => {
    if (!node) throw new Error('prepare opens the monitor before the services are built');
    return node.services(kit);
  },
  started: (config, logger, server) => {
    void node?.start();
    registration.started(config, logger, server);
  },
  // Out of the topology as the drain starts: monitors stop probing it and no one is sent to it.
  onDraining: [registration.leave],
  onStopped: [async () => node?.stop(), flushTelemetry],
});
