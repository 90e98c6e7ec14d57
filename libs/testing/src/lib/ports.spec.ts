import { createServer } from 'node:net';
import { ephemeralPortRange, freePort, testPortRange } from './ports';

describe('test ports', () => {
  it('hands out ports the kernel never picks for its own sockets', async () => {
    const ephemeral = ephemeralPortRange();
    const range = testPortRange();
    expect(range.high < ephemeral.low || range.low > ephemeral.high).toBe(true);
    const port = await freePort();
    expect(port).toBeGreaterThanOrEqual(range.low);
    expect(port).toBeLessThanOrEqual(range.high);
  });

  it('gives each Jest worker a slice of its own', () => {
    const slices = [1, 2, 3, 4].map((worker) => testPortRange(worker));
    for (const [index, slice] of slices.entries()) {
      expect(slice.high - slice.low).toBeGreaterThan(100);
      for (const other of slices.slice(index + 1)) expect(slice.high < other.low || other.high < slice.low).toBe(true);
    }
  });

  it('goes below the ephemeral range when it leaves no room above, and refuses one that leaves no room at all', () => {
    expect(testPortRange(1, { low: 40_000, high: 65_000 })).toEqual({ low: 32_000, high: 32_999 });
    expect(() => testPortRange(1, { low: 15_000, high: 65_000 })).toThrow(/narrow net.ipv4.ip_local_port_range/);
  });

  it('skips a port something listens on', async () => {
    const taken = await freePort();
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(taken, '127.0.0.1', resolve));
    try {
      const ports = new Set<number>();
      const range = testPortRange();
      // A full cycle through the slice comes back to the taken port at least once.
      for (let index = 0; index <= range.high - range.low; index++) ports.add(await freePort());
      // Other ports of the slice may be in use on this host too: only the taken one is known.
      expect(ports.has(taken)).toBe(false);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
