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

  it('skips a port something listens on', async () => {
    const taken = await freePort();
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(taken, '127.0.0.1', resolve));
    try {
      const ports = new Set<number>();
      const range = testPortRange();
      // A full cycle through the slice comes back to the taken port at least once.
      for (let index = 0; index <= range.high - range.low; index++) ports.add(await freePort());
      expect(ports.has(taken)).toBe(false);
      expect(ports.size).toBe(range.high - range.low);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
