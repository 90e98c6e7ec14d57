// A service the launcher runs listens on an address of its own in 127/8
// (127.77.x.y), as a machine with one address. Linux still sends its
// outgoing loopback connections from 127.0.0.1, so a fault rule naming its
// address (iptables -s/-d) would miss everything it initiates: a
// "partitioned" primary would go on replicating to its backups. Connecting
// from the listen address makes its traffic carry its address both ways, as
// between machines. net.connect and net.createConnection are wrapped because
// grpc-js, ioredis and undici open their sockets through them.
import net from 'node:net';

type Connect = typeof net.connect;

const loopbackIPv4 = /^127\.(25[0-5]|2[0-4]\d|1?\d?\d)\.(25[0-5]|2[0-4]\d|1?\d?\d)\.(25[0-5]|2[0-4]\d|1?\d?\d)$/;

/** A loopback IPv4 address other than 127.0.0.1: one the launcher gave a single service. */
export function isOwnLoopbackAddress(host: string): boolean {
  return loopbackIPv4.test(host) && host !== '127.0.0.1';
}

/** The options of a TCP connection to a loopback address that names no local address, from `host`. */
function fromHost(host: string, args: unknown[]): unknown[] {
  const [first, ...rest] = args;
  if (typeof first === 'number' || (typeof first === 'string' && /^\d+$/.test(first))) {
    // connect(port[, host][, listener])
    const target = typeof rest[0] === 'string' ? rest[0] : 'localhost';
    const listener = rest.find((arg) => typeof arg === 'function');
    if (!loopbackIPv4.test(target)) return args;
    return [{ port: Number(first), host: target, localAddress: host }, ...(listener ? [listener] : [])];
  }
  if (typeof first !== 'object' || first === null) return args;
  const options = first as net.TcpNetConnectOpts & { path?: string };
  if (options.path !== undefined || options.localAddress !== undefined) return args;
  // No host is localhost, which may resolve to ::1: left alone, as connect(port) is.
  if (options.host === undefined || !loopbackIPv4.test(options.host)) return args;
  return [{ ...options, localAddress: host }, ...rest];
}

/**
 * From now on, this process's TCP connections to loopback addresses leave
 * from `host` when it is an own loopback address (isOwnLoopbackAddress);
 * otherwise nothing changes. Returns what undoes it.
 */
export function connectFromListenAddress(host: string): () => void {
  if (!isOwnLoopbackAddress(host)) return () => undefined;
  const original: Connect = net.connect;
  const connect = ((...args: unknown[]) =>
    (original as (...args: unknown[]) => net.Socket)(...fromHost(host, args))) as Connect;
  net.connect = connect;
  net.createConnection = connect;
  return () => {
    net.connect = original;
    net.createConnection = original;
  };
}
