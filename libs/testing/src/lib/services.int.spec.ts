import { freePort } from './ports';
import { startProcess } from './processes';
import { waitForServing } from './services';

describe('waitForServing', () => {
  it('fails as soon as the process meant to serve exits, with what it printed', async () => {
    const address = `127.0.0.1:${await freePort()}`;
    const process_ = startProcess({
      command: process.execPath,
      args: ['-e', 'console.error("cannot start: address in use"); process.exit(3)'],
    });
    // The deadline is far beyond the test's own timeout: only the exit can end the wait in time.
    await expect(waitForServing(address, 600_000, { process: process_ })).rejects.toThrow(
      `${address} exited (3) before SERVING:\ncannot start: address in use`,
    );
  });
});
