import { Writable } from 'node:stream';
import { createLogger } from '@bulwark/logging';
import { startFailpointControl, type FailpointControl } from './control-server';
import { FailpointRegistry } from './registry';

const lines: Array<Record<string, unknown>> = [];
const logger = createLogger({
  service: 'test',
  memberId: 'test-1',
  level: 'info',
  destination: new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(line));
      done();
    },
  }),
});

describe('startFailpointControl', () => {
  const registry = new FailpointRegistry({
    crash: () => {
      throw new Error('a test never crashes');
    },
  });
  let control: FailpointControl;
  const url = (path: string) => `http://${control.address}${path}`;
  const put = (name: string, body: string) => fetch(url(`/failpoints/${name}`), { method: 'PUT', body });

  beforeAll(async () => {
    control = await startFailpointControl({ host: '127.0.0.1', port: 0, service: 'replica', logger, registry });
  });
  afterAll(() => control.close());

  it('binds the address it is given, a free port for 0, and says where', () => {
    expect(control.address).toMatch(/^127\.0\.0\.1:[1-9]\d*$/);
    expect(lines).toContainEqual(
      expect.objectContaining({ msg: 'serving failpoint control', address: control.address, path: '/failpoints' }),
    );
  });

  it("lists the service's failpoints, each off, with its kind and doc", async () => {
    const response = await fetch(url('/failpoints'));
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/json');
    const body = (await response.json()) as { service: string; failpoints: Array<Record<string, unknown>> };
    expect(body.service).toBe('replica');
    expect(body.failpoints).toContainEqual({
      name: 'replica.wal.beforeFsync',
      kind: 'io',
      doc: 'a group commit: its record is written to the WAL, not yet fdatasynced',
      action: 'off',
      fired: 0,
    });
    expect(body.failpoints.map((point) => point.name)).not.toContain('paxos.wal.beforeFsync');
    expect(body.failpoints.every((point) => point.action === 'off')).toBe(true);
  });

  it('sets a failpoint with PUT, shows it with GET, and turns it off with DELETE', async () => {
    const set = await put('replica.wal.beforeFsync', '2*error(EIO)\n');
    expect(set.status).toBe(200);
    expect(await set.json()).toMatchObject({ name: 'replica.wal.beforeFsync', action: '2*error(EIO)', fired: 0 });
    expect(() => registry.pass('replica.wal.beforeFsync')).toThrow('EIO: i/o error, fdatasync');
    expect(await (await fetch(url('/failpoints/replica.wal.beforeFsync'))).json()).toMatchObject({
      action: '2*error(EIO)',
      fired: 1,
    });
    expect(lines).toContainEqual(
      expect.objectContaining({ msg: 'failpoint set', failpoint: 'replica.wal.beforeFsync', action: '2*error(EIO)' }),
    );

    const deleted = await fetch(url('/failpoints/replica.wal.beforeFsync'), { method: 'DELETE' });
    expect(deleted.status).toBe(200);
    expect(await deleted.json()).toMatchObject({ action: 'off', fired: 1 });
    expect(() => registry.pass('replica.wal.beforeFsync')).not.toThrow();
    expect(registry.isOn('replica.acknowledgeBeforeReplicated')).toBe(false);
    expect((await put('replica.acknowledgeBeforeReplicated', 'on')).status).toBe(200);
    expect(registry.isOn('replica.acknowledgeBeforeReplicated')).toBe(true);
    expect((await put('replica.acknowledgeBeforeReplicated', 'off')).status).toBe(200);
    expect(registry.isOn('replica.acknowledgeBeforeReplicated')).toBe(false);
  });

  it('answers a bad term 400 with the reason, changing nothing', async () => {
    for (const [name, term, message] of [
      ['replica.wal.beforeFsync', 'explode', 'replica.wal.beforeFsync: must be off, on, crash'],
      ['replica.ready.beforeSend', 'error(EIO)', 'replica.ready.beforeSend: takes off, crash, crash-lose-unsynced'],
      ['replica.wal.beforeFsync', '', 'replica.wal.beforeFsync: must be off, on, crash'],
    ] as const) {
      const response = await put(name, term);
      expect([term, response.status]).toEqual([term, 400]);
      expect(response.headers.get('content-type')).toBe('text/plain; charset=utf-8');
      expect(await response.text()).toContain(message);
    }
    expect(registry.list().every((state) => state.action === 'off')).toBe(true);
  });

  it('answers 413 for a body above the bound, 404 for a name that is not its failpoint, 405 for another method', async () => {
    const large = await put('replica.wal.beforeFsync', `sleep(${'1'.repeat(300)})`);
    expect(large.status).toBe(413);
    expect(await large.text()).toBe('the term must be at most 256 bytes\n');
    for (const path of ['/failpoints/paxos.wal.beforeFsync', '/failpoints/nope', '/failpoints/%E0%A4%A', '/other']) {
      const response = await fetch(url(path), { method: 'PUT', body: 'crash' });
      expect([path, response.status]).toEqual([path, 404]);
    }
    const post = await fetch(url('/failpoints/replica.wal.beforeFsync'), { method: 'POST', body: 'crash' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, PUT, DELETE');
    const putAll = await fetch(url('/failpoints'), { method: 'PUT', body: 'crash' });
    expect(putAll.status).toBe(405);
    expect(putAll.headers.get('allow')).toBe('GET');
    expect(registry.list().every((state) => state.action === 'off')).toBe(true);
  });

  it('rejects an address in use', async () => {
    const [, port] = control.address.split(':');
    await expect(
      startFailpointControl({ host: '127.0.0.1', port: Number(port), service: 'replica', logger, registry }),
    ).rejects.toThrow(/EADDRINUSE/);
  });
});
