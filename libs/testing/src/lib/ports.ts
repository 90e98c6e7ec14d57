// Ports for services a test starts. A port the OS hands out for `listen(0)`
// comes from the ephemeral range, which every outgoing connection on the host
// also draws from: between our check and the child's bind, a client socket
// can take it, the child exits "address in use" and the test waits on
// nothing (seen in CI). So ports come from outside that range, split between
// Jest workers, each checked free before it is handed out.
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

/** Linux's default, assumed where /proc does not say (macOS's 49152-65535 lies inside it, so its ports avoid it too). */
const defaultEphemeralRange = { low: 32_768, high: 60_999 };

/** Ports a test run needs outside the ephemeral range: eight Jest worker slices of 250. */
const minimumPorts = 2_000;

/** Fixed ports of the fleet tests and the launcher's compose file sit below this (127.77.x.y:11000-21999). */
const fixedPortsEnd = 22_000;

/** The kernel's range for ports it picks itself (connect, listen(0)). */
export function ephemeralPortRange(): { low: number; high: number } {
  try {
    const [low, high] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    if (Number.isInteger(low) && Number.isInteger(high) && (low as number) <= (high as number)) {
      return { low: low as number, high: high as number };
    }
  } catch {
    // No /proc: keep the default.
  }
  return defaultEphemeralRange;
}

/** The ports this process may hand out: its Jest worker's slice of the ports the kernel never picks. */
export function testPortRange(
  workerId = Number(process.env['JEST_WORKER_ID'] ?? '1'),
  ephemeral = ephemeralPortRange(),
): { low: number; high: number } {
  // Above the ephemeral range when it leaves room there (Linux: 61000-65535), else below it.
  const [low, high] =
    65_535 - ephemeral.high >= minimumPorts
      ? [ephemeral.high + 1, 65_535]
      : [Math.max(fixedPortsEnd, ephemeral.low - 8_000), ephemeral.low - 1];
  if (high - low + 1 < minimumPorts) {
    throw new Error(
      `the ephemeral port range ${ephemeral.low}-${ephemeral.high} leaves fewer than ${minimumPorts} ports ` +
        `outside it for tests (above it, or between ${fixedPortsEnd} and it); narrow net.ipv4.ip_local_port_range`,
    );
  }
  // Jest runs at most a handful of workers here; eight slices keep each one hundreds of ports wide.
  const slices = 8;
  const width = Math.floor((high - low + 1) / slices);
  const slice = (Math.max(1, workerId) - 1) % slices;
  return { low: low + slice * width, high: low + (slice + 1) * width - 1 };
}

/** This process's range, read once: /proc is not read again for every port. */
let ownRange: { low: number; high: number } | undefined;
let nextOffset: number | undefined;

function canListen(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen({ port, host, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/**
 * A port that was free on host a moment ago, from outside the ephemeral range
 * (see above), never the same one twice in a row within this process.
 */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  const range = (ownRange ??= testPortRange());
  const width = range.high - range.low + 1;
  // A random start, so consecutive test files in one worker do not reuse a port a slow child may still hold.
  nextOffset ??= Math.floor(Math.random() * width);
  for (let attempt = 0; attempt < width; attempt++) {
    const port = range.low + (nextOffset % width);
    nextOffset = (nextOffset + 1) % width;
    if (await canListen(port, host)) return port;
  }
  throw new Error(`no free port on ${host} in ${range.low}-${range.high}`);
}
