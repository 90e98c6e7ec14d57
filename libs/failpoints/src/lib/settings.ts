// The two variables every service reads for its failpoints (README,
// "Failpoints"), as @bulwark/config settings: a bad value is a ConfigError
// naming the variable, so the service exits 2 with one line, like any
// other bad configuration.
import { ConfigError, parseHostPort, type HostPort, type Setting } from '@bulwark/config';
import { InvalidArgumentError } from '@bulwark/errors';
import { parseFailpointList, type FailpointSetting } from './spec';

export const failpointsVariable = 'BULWARK_FAILPOINTS';
export const failpointsAddressVariable = 'BULWARK_FAILPOINTS_ADDR';

// A type, not an interface: a config schema needs its index signature.
export type FailpointSettings = {
  /** Failpoints set at start; none when unset. */
  failpoints: Setting<FailpointSetting[]>;
  /** Where the control endpoint listens; unset, there is none. */
  failpointsAddress: Setting<HostPort | undefined>;
};

const isUnset = (raw: string | undefined): raw is undefined => raw === undefined || raw.trim() === '';

export function failpointSettings(service: string): FailpointSettings {
  return {
    failpoints: {
      variable: failpointsVariable,
      parse(raw) {
        if (isUnset(raw)) return [];
        try {
          return parseFailpointList(service, raw);
        } catch (error) {
          if (error instanceof InvalidArgumentError) throw new ConfigError(failpointsVariable, error.message);
          throw error;
        }
      },
    },
    failpointsAddress: {
      variable: failpointsAddressVariable,
      parse(raw) {
        if (isUnset(raw)) return undefined;
        const address = parseHostPort(raw.trim(), 0);
        if (typeof address === 'string') throw new ConfigError(failpointsAddressVariable, address);
        return address;
      },
    },
  };
}
