// The launcher's own settings, from its environment. None of them reach the
// services: those get their environment from the compose file.
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { int, oneOf, string } from '@bulwark/config';
import { loopbackSubnetPattern } from '@bulwark/fleet';
import type { LogLevel } from '@bulwark/logging';

const logLevels: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace'];

/** projectDir: the compose file's directory, which holds the default state directory. */
export function launcherSettings(projectDir: string) {
  return {
    subnet: string('BULWARK_LAUNCH_SUBNET', { default: '127.77.0', pattern: loopbackSubnetPattern }),
    stateDir: string('BULWARK_LAUNCH_STATE_DIR', { default: join(projectDir, '.bulwark', 'volumes') }),
    portOffset: int('BULWARK_LAUNCH_PORT_OFFSET', { min: 0, max: 60_000, default: 0 }),
    readyTimeoutMs: int('BULWARK_LAUNCH_READY_TIMEOUT_MS', { min: 1000, max: 3_600_000, default: 60_000 }),
    // Every process of the fleet carries it, so they can be found (also after a kill -9 of the launcher).
    fleetId: string('BULWARK_FLEET_ID', {
      default: `fleet-${randomBytes(4).toString('hex')}`,
      pattern: { regex: /^[A-Za-z0-9_.-]{1,64}$/, description: '1-64 letters, digits, _ . or -' },
    }),
    logLevel: oneOf('BULWARK_LOG_LEVEL', logLevels, 'info'),
  };
}
