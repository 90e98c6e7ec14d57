// Some clients reach the container itself when given no host: redis-cli
// connects to 127.0.0.1:6379 by default. Inside a container that is the
// service; here 127.0.0.1 is the machine's, and a healthcheck such as
// `redis-cli -p 6379 ping` would pass against a Redis of the host (one runs
// on most machines that have redis-server) while the service is down. Naming
// the host as `localhost` lets rewriteHosts move it to the service's own
// address, as it does for `localhost:7001` in Bulwark's probes.

interface HostDefaults {
  /** Flags after which the client takes its target; when one is given, the host is already explicit. */
  targetFlags: readonly string[];
  hostFlag: string;
  portFlag: string;
  defaultPort: number;
}

const clientsWithImplicitHost: ReadonlyMap<string, HostDefaults> = new Map([
  ['redis-cli', { targetFlags: ['-h', '-u', '-s'], hostFlag: '-h', portFlag: '-p', defaultPort: 6379 }],
]);

export interface ExplicitHost {
  argv: string[];
  /** The port the client reaches on the service's own address, when the host was implicit. */
  ownPorts: number[];
}

/** argv with `localhost` named where its program would assume the container itself; other argv as is. */
export function nameImplicitHost(argv: readonly string[]): ExplicitHost {
  const [program = '', ...args] = argv;
  const defaults = clientsWithImplicitHost.get(program.slice(program.lastIndexOf('/') + 1));
  if (defaults === undefined || args.some((arg) => defaults.targetFlags.includes(arg))) {
    return { argv: [...argv], ownPorts: [] };
  }
  const portFlagAt = args.indexOf(defaults.portFlag);
  const port = portFlagAt === -1 ? defaults.defaultPort : Number(args[portFlagAt + 1]);
  return {
    argv: [program, defaults.hostFlag, 'localhost', ...args],
    ownPorts: Number.isInteger(port) && port >= 1 && port <= 65535 ? [port] : [],
  };
}
