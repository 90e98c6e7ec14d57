// Rewrites host names in a service's settings from Docker's view (every
// service resolvable by its name, 0.0.0.0 and localhost meaning the
// container) to the launcher's (every service on its own loopback address).
//
// Only whole host tokens in host positions are touched: a token followed by
// `:port`, a token right after `//`, or the whole value. So in
// `coordinator-1=coordinator-1:7001` the member id before `=` stays, and
// `coordinator-10` is never mistaken for `coordinator-1`.

export interface HostContext {
  ownName: string;
  ownAddress: string;
  /** Address of every service the launcher runs, by name. */
  addresses: ReadonlyMap<string, string>;
  /** Services that do not run here (SkippedService). */
  skipped: ReadonlySet<string>;
}

export interface HostRewrite {
  value: string;
  /** Skipped services this value names as a host: it cannot work without them. */
  skippedServices: string[];
  /** Ports this value places on the service's own address (where it listens or advertises). */
  ownPorts: number[];
}

const hostToken = /[A-Za-z0-9._-]+/g;
const portAfterToken = /^:(\d{1,5})(?!\d)/;
/** What these mean inside a container: the container itself. */
const ownHostAliases = new Set(['0.0.0.0', 'localhost', '127.0.0.1']);

export function rewriteHosts(value: string, context: HostContext): HostRewrite {
  const skippedServices: string[] = [];
  const ownPorts: number[] = [];
  const rewritten = value.replace(hostToken, (token: string, offset: number) => {
    const port = portAfterToken.exec(value.slice(offset + token.length))?.[1];
    const isWholeValue = token.length === value.length;
    const isAfterSlashes = offset >= 2 && value.slice(offset - 2, offset) === '//';
    if (port === undefined && !isWholeValue && !isAfterSlashes) return token;
    // A value that is exactly the service's own name is its identity (BULWARK_MEMBER_ID), not a host.
    const isOwn = ownHostAliases.has(token) || (token === context.ownName && !isWholeValue);
    if (isOwn) {
      if (port !== undefined && Number(port) <= 65535) ownPorts.push(Number(port));
      return context.ownAddress;
    }
    if (token === context.ownName) return token;
    const address = context.addresses.get(token);
    if (address !== undefined) return address;
    if (context.skipped.has(token)) skippedServices.push(token);
    return token;
  });
  return { value: rewritten, skippedServices, ownPorts };
}
