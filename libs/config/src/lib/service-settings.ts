// Settings every Bulwark service reads, so their names and rules are the
// same across the fleet (see the README's configuration table).
import {
  hostPort,
  int,
  listenAddressOrOff,
  memberIdPattern,
  oneOf,
  string,
  type Setting,
  type HostPort,
} from './config';

export const logLevelNames = ['fatal', 'error', 'warn', 'info', 'debug', 'trace'] as const;

export type ServiceSettings = {
  memberId: Setting<string>;
  listenAddress: Setting<HostPort>;
  advertiseAddress: Setting<HostPort>;
  logLevel: Setting<(typeof logLevelNames)[number]>;
  drainDeadlineMs: Setting<number>;
  /** Unset: the listen address's host with a free port. */
  metricsAddress: Setting<HostPort | 'off' | undefined>;
};

export function serviceSettings(defaultPort: number): ServiceSettings {
  return {
    memberId: string('BULWARK_MEMBER_ID', { pattern: memberIdPattern }),
    listenAddress: hostPort('BULWARK_LISTEN_ADDR', `0.0.0.0:${defaultPort}`),
    advertiseAddress: hostPort('BULWARK_ADVERTISE_ADDR', `127.0.0.1:${defaultPort}`),
    logLevel: oneOf('BULWARK_LOG_LEVEL', logLevelNames, 'info'),
    drainDeadlineMs: int('BULWARK_DRAIN_DEADLINE_MS', { min: 0, max: 120_000, default: 10_000 }),
    metricsAddress: listenAddressOrOff('BULWARK_METRICS_ADDR'),
  };
}
