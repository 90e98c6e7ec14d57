// Real iptables rules on loopback addresses of the fleet's range: a
// partition drops every packet (a connection cannot be made until it
// heals), a one-way fault drops one direction only, loss drops a share, and
// nothing of the tool's is left in iptables after close() — also a chain
// left by a process that died.
import { execFileSync, spawnSync } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { connect, createServer, type Server } from 'node:net';
import { IptablesFaults, removeStaleChains } from './iptables-faults';

const left = '127.77.98.2';
const right = '127.77.98.3';

function iptablesRules(): string {
  return execFileSync('iptables', ['-w', '5', '-S'], { encoding: 'utf8' });
}

/** Whether a TCP connection from `from` to server's port is made within withinMs (SYNs dropped: it is not). */
function connects(from: string, to: string, port: number, withinMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: to, port, localAddress: from });
    const timer = setTimeout(() => {
      socket.destroy();
      resolve(false);
    }, withinMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => {
      clearTimeout(timer);
      resolve(false);
    });
  });
}

const markerSource = '127.77.98.4';

/**
 * Datagrams sent from `from` that reach a socket bound at `to`, of count
 * sent. A marker from an address no fault names follows them: loopback
 * queues datagrams in the order they were sent, so once the marker is in,
 * every datagram that was not dropped is too.
 */
async function delivered(from: string, to: string, count: number): Promise<number> {
  const receiver = createSocket('udp4');
  const sender = createSocket('udp4');
  const marker = createSocket('udp4');
  await new Promise<void>((resolve) => receiver.bind(0, to, resolve));
  await new Promise<void>((resolve) => sender.bind(0, from, resolve));
  await new Promise<void>((resolve) => marker.bind(0, markerSource, resolve));
  const { port } = receiver.address();
  let received = 0;
  const markerIn = new Promise<void>((resolve) =>
    receiver.on('message', (message) => (message.toString() === 'marker' ? resolve() : received++)),
  );
  const send = (socket: Socket, text: string) =>
    new Promise<void>((resolve, reject) =>
      socket.send(Buffer.from(text), port, to, (error) => (error ? reject(error) : resolve())),
    );
  for (let index = 0; index < count; index++) await send(sender, 'x');
  await send(marker, 'marker');
  await markerIn;
  for (const socket of [receiver, sender, marker]) socket.close();
  return received;
}

describe('IptablesFaults', () => {
  let server: Server;
  let port: number;
  let faults: IptablesFaults;

  beforeAll(async () => {
    server = createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => server.listen(0, right, resolve));
    port = (server.address() as { port: number }).port;
    faults = IptablesFaults.open();
  });

  afterAll(async () => {
    faults?.close();
    await new Promise((resolve) => server.close(resolve));
  });

  it('partitions two addresses: no connection until it heals', async () => {
    expect(await connects(left, right, port, 2_000)).toBe(true);
    const keys = faults.partition([left], [right]);
    expect(keys).toHaveLength(2);
    expect(await connects(left, right, port, 500)).toBe(false);
    for (const key of keys) faults.heal(key);
    expect(faults.faults).toEqual([]);
    expect(await connects(left, right, port, 2_000)).toBe(true);
  });

  it('drops one direction only', async () => {
    faults.partition([left], [right], true);
    expect(await delivered(left, right, 20)).toBe(0);
    expect(await delivered(right, left, 20)).toBe(20);
    faults.healAll();
    expect(await delivered(left, right, 20)).toBe(20);
  });

  it('drops a share of the packets at random', async () => {
    faults.add({ kind: 'loss', from: left, to: right, probability: 0.5 });
    const received = await delivered(left, right, 400);
    faults.healAll();
    // Binomial(400, 0.5): outside 100..300 with a probability below 1e-20.
    expect(received).toBeGreaterThan(100);
    expect(received).toBeLessThan(300);
  });

  it('touches no address outside the fleet range, and takes no probability outside (0, 1)', () => {
    expect(() => faults.add({ kind: 'drop', from: '127.0.0.1', to: right })).toThrow(RangeError);
    expect(() => faults.add({ kind: 'drop', from: left, to: '10.0.0.1' })).toThrow('to: "10.0.0.1"');
    expect(() => faults.add({ kind: 'loss', from: left, to: right, probability: 1 })).toThrow('probability');
    expect(faults.faults).toEqual([]);
  });

  it('leaves nothing in iptables after close, and removes a chain whose process died', () => {
    const other = IptablesFaults.open();
    other.add({ kind: 'drop', from: left, to: right });
    expect(iptablesRules()).toContain(`-N ${other.chain}`);
    other.close();
    other.close();
    expect(iptablesRules()).not.toContain(other.chain);

    // A run killed before its cleanup: its chain and jump stay until the next run.
    const dead = spawnSync(process.execPath, ['-e', '0']).pid as number;
    const stale = `BWCHAOS-${dead}`;
    execFileSync('iptables', ['-w', '5', '-N', stale]);
    execFileSync('iptables', ['-w', '5', '-I', 'INPUT', '1', '-j', stale]);
    expect(removeStaleChains()).toEqual([stale]);
    expect(iptablesRules()).not.toContain(stale);
    // Ours is alive: kept.
    expect(iptablesRules()).toContain(`-N ${faults.chain}`);
  });
});
