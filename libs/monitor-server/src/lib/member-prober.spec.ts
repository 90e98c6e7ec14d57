// MemberProber over a real gRPC server, with a Check interval of an hour so
// that after the first Check only the Watch stream (and what it triggers)
// and the channel's reconnection can make the prober hear anything: what the
// member says of itself arrives at once, and so does its return.
import { createLogger } from '@bulwark/logging';
import { ServingStatus, startServer, type RunningServer } from '@bulwark/rpc';
import { MemberProber } from './member-prober';

const logger = createLogger({ service: 'test', memberId: 'member', level: 'fatal' });
const hourMs = 3_600_000;

describe('MemberProber', () => {
  let server: RunningServer | undefined;
  let prober: MemberProber | undefined;
  const heard: string[] = [];
  let waiter: { what: (entry: string) => boolean; resolve: () => void } | undefined;

  const serve = async (port = 0) => {
    server = await startServer({ address: `127.0.0.1:${port}`, logger, drainDeadlineMs: 100 }, () => []);
    return server.port;
  };
  const record = (entry: string) => {
    heard.push(entry);
    if (waiter?.what(entry)) waiter.resolve();
  };
  /** Resolves at the next entry that matches (or one already heard since `from`). */
  const next = (what: (entry: string) => boolean, from: number) =>
    heard.slice(from).some(what) ? Promise.resolve() : new Promise<void>((resolve) => (waiter = { what, resolve }));

  afterEach(async () => {
    prober?.stop();
    await server?.drain('test done');
    heard.length = 0;
  });

  it('hears NOT_SERVING over Watch, a kill at once, and the member back after a restart, with no Check due', async () => {
    const port = await serve();
    prober = new MemberProber({
      address: `127.0.0.1:${port}`,
      intervalMs: hourMs,
      deadlineMs: 1_000,
      onHeartbeat: () => record('heartbeat'),
      onRefused: (reason) => record(`refused: ${reason}`),
    });
    prober.start();
    await next((entry) => entry === 'heartbeat', 0);

    let from = heard.length;
    server?.health.setAll(ServingStatus.NOT_SERVING);
    await next((entry) => entry === 'refused: NOT_SERVING', from);

    from = heard.length;
    server?.health.setAll(ServingStatus.SERVING);
    await next((entry) => entry === 'heartbeat', from);

    from = heard.length;
    await server?.drain('killed by the test');
    server = undefined;
    await next((entry) => entry.startsWith('refused'), from);

    from = heard.length;
    await serve(port);
    await next((entry) => entry === 'heartbeat', from);
    expect(heard.at(-1)).toBe('heartbeat');
  });
});
