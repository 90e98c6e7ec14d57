// One loopback address per running service, so every service keeps the ports
// it has in a container (three coordinators all listen on 7001). Linux routes
// all of 127.0.0.0/8 to the loopback interface, so no setup is needed.
import { ComposeError } from '../compose/compose-error';

const octet = '(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)';

/** The first three octets of a loopback /24, e.g. 127.77.0. */
export const loopbackSubnetPattern = {
  regex: new RegExp(`^127\\.${octet}\\.${octet}$`),
  description: 'the first three octets of a loopback /24, such as 127.77.0',
};

/** Hosts .2 to .254: .0 names the network, .255 is broadcast, and .1 is left free (127.0.0.1 in 127.0.0). */
const firstHost = 2;
export const addressesPerSubnetMax = 253;

/** Addresses in the given order: the first name gets .2, the next .3, and so on. */
export function planAddresses(names: readonly string[], subnet: string): Map<string, string> {
  if (!loopbackSubnetPattern.regex.test(subnet)) {
    throw new RangeError(`subnet must be ${loopbackSubnetPattern.description}, got "${subnet}"`);
  }
  if (names.length > addressesPerSubnetMax) {
    throw new ComposeError(
      undefined,
      'services',
      `${names.length} services to run, but a /24 has ${addressesPerSubnetMax} addresses`,
    );
  }
  return new Map(names.map((name, index) => [name, `${subnet}.${firstHost + index}`]));
}
