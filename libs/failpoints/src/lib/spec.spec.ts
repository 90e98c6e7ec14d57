import { InvalidArgumentError } from '@bulwark/errors';
import { failpointCatalog, failpointNames, failpointsOf } from './catalog';
import { formatFailpointSpec, parseFailpointList, parseFailpointSetting, parseFailpointSpec } from './spec';

describe('parseFailpointSpec', () => {
  it.each([
    ['crash', { action: { type: 'crash' }, probability: 1, count: undefined }],
    ['crash-lose-unsynced', { action: { type: 'crash-lose-unsynced' }, probability: 1, count: undefined }],
    ['on', { action: { type: 'on' }, probability: 1, count: undefined }],
    ['2*error(EIO)', { action: { type: 'error', code: 'EIO' }, probability: 1, count: 2 }],
    ['error(ENOSPC)', { action: { type: 'error', code: 'ENOSPC' }, probability: 1, count: undefined }],
    ['50.0%sleep(100)', { action: { type: 'sleep', ms: 100 }, probability: 0.5, count: undefined }],
    ['12.5%3*crash', { action: { type: 'crash' }, probability: 0.125, count: 3 }],
    ['100%sleep(0)', { action: { type: 'sleep', ms: 0 }, probability: 1, count: undefined }],
    [' 1*sleep(600000)\n', { action: { type: 'sleep', ms: 600_000 }, probability: 1, count: 1 }],
  ])('reads %j', (text, expected) => {
    expect(parseFailpointSpec('p', text)).toEqual(expected);
  });

  it('reads off as no spec', () => {
    expect(parseFailpointSpec('p', 'off')).toBeUndefined();
    expect(formatFailpointSpec(undefined)).toBe('off');
  });

  it.each(['crash', '2*error(EIO)', '50%sleep(100)', '12.5%3*crash', 'on', 'crash-lose-unsynced', '0.000001%crash'])(
    'writes %s back as it was read',
    (text) => {
      expect(formatFailpointSpec(parseFailpointSpec('p', text))).toBe(text);
    },
  );

  it.each([
    ['kaboom', /^p: must be off, on, crash, .* got "kaboom"$/],
    ['', /^p: must be off, on, crash, crash-lose-unsynced, error\(EIO\), error\(ENOSPC\) or sleep\(ms\), /],
    ['return(1)', /^p: must be off, on, crash, .* got "return\(1\)"$/],
    ['crash(1)', /^p: crash takes no argument, got "crash\(1\)"$/],
    ['error(EBADF)', /^p: error takes EIO or ENOSPC, got "error\(EBADF\)"$/],
    ['error', /^p: error takes EIO or ENOSPC/],
    ['sleep', /^p: sleep takes milliseconds from 0 to 600000, got "sleep"$/],
    ['sleep(-1)', /^p: sleep takes milliseconds from 0 to 600000/],
    ['sleep(600001)', /^p: sleep takes milliseconds from 0 to 600000, got "sleep\(600001\)"$/],
    ['sleep(1.5)', /^p: sleep takes milliseconds/],
    ['0%crash', /^p: the chance P% must be above 0 and at most 100, got "0%crash"$/],
    ['100.5%crash', /^p: the chance P% must be above 0 and at most 100/],
    ['0*crash', /^p: the count N\* must be from 1 to 1000000000, got "0\*crash"$/],
    ['2000000000*crash', /^p: the count N\* must be from 1 to 1000000000/],
    ['2*off', /^p: off takes no chance or count, got "2\*off"$/],
    ['3*50%crash', /^p: must be off, on, crash/],
    ['-1*crash', /^p: must be off, on, crash/],
  ])('refuses %j, naming the failpoint', (text, message) => {
    expect(() => parseFailpointSpec('p', text)).toThrow(InvalidArgumentError);
    expect(() => parseFailpointSpec('p', text)).toThrow(message);
  });
});

describe('parseFailpointSetting', () => {
  it('takes every action an io point takes', () => {
    for (const text of ['crash', 'crash-lose-unsynced', 'error(EIO)', 'error(ENOSPC)', 'sleep(5)', 'off']) {
      expect(parseFailpointSetting('replica', 'replica.wal.beforeFsync', text).name).toBe('replica.wal.beforeFsync');
    }
  });

  it('refuses what a point of another kind does not take', () => {
    expect(() => parseFailpointSetting('replica', 'replica.ready.beforeSend', 'error(EIO)')).toThrow(
      'replica.ready.beforeSend: takes off, crash, crash-lose-unsynced or sleep(ms), got "error(EIO)"',
    );
    expect(() => parseFailpointSetting('replica', 'replica.wal.beforeWrite', 'on')).toThrow(
      'replica.wal.beforeWrite: takes off, crash, crash-lose-unsynced or sleep(ms), or error(EIO) or error(ENOSPC), got "on"',
    );
    expect(() => parseFailpointSetting('replica', 'replica.acknowledgeBeforeReplicated', 'crash')).toThrow(
      'replica.acknowledgeBeforeReplicated: takes on or off, got "crash"',
    );
    expect(parseFailpointSetting('replica', 'replica.acknowledgeBeforeReplicated', '25%on').spec).toEqual({
      action: { type: 'on' },
      probability: 0.25,
      count: undefined,
    });
  });

  it("refuses a name that is not one of the service's failpoints, listing them", () => {
    expect(() => parseFailpointSetting('replica', 'replica.wal.beforeFsinc', 'crash')).toThrow(
      /^replica\.wal\.beforeFsinc: is not a failpoint of the replica; its failpoints are file\.replace\.beforeWrite, .*replica\.acknowledgeBeforeReplicated$/,
    );
    expect(() => parseFailpointSetting('coordinator', 'replica.wal.beforeFsync', 'crash')).toThrow(
      /^replica\.wal\.beforeFsync: is not a failpoint of the coordinator; /,
    );
    expect(() => parseFailpointSetting('router', 'paxos.wal.beforeFsync', 'crash')).toThrow(
      'paxos.wal.beforeFsync: the router has no failpoints',
    );
    // Not Object.prototype's properties either.
    expect(() => parseFailpointSetting('replica', 'constructor', 'crash')).toThrow(/is not a failpoint/);
  });
});

describe('parseFailpointList', () => {
  it('reads name=term items separated by ;, skipping empty ones', () => {
    expect(
      parseFailpointList('replica', ' replica.wal.beforeFsync=crash ; replica.acknowledgeBeforeReplicated=on;;'),
    ).toEqual([
      { name: 'replica.wal.beforeFsync', spec: { action: { type: 'crash' }, probability: 1, count: undefined } },
      {
        name: 'replica.acknowledgeBeforeReplicated',
        spec: { action: { type: 'on' }, probability: 1, count: undefined },
      },
    ]);
    expect(parseFailpointList('coordinator', 'paxos.wal.beforeWrite=off')).toEqual([
      { name: 'paxos.wal.beforeWrite', spec: undefined },
    ]);
  });

  it('refuses an item without =, a name set twice, and a bad item anywhere', () => {
    expect(() => parseFailpointList('replica', 'replica.wal.beforeFsync')).toThrow(
      'replica.wal.beforeFsync: must be name=action',
    );
    expect(() => parseFailpointList('replica', 'replica.wal.beforeFsync=crash;replica.wal.beforeFsync=off')).toThrow(
      'replica.wal.beforeFsync: is set twice',
    );
    expect(() => parseFailpointList('replica', 'replica.wal.beforeFsync=crash;replica.wal.afterFsync=boom')).toThrow(
      'replica.wal.afterFsync: must be off, on, crash',
    );
  });
});

describe('the catalog', () => {
  it('gives every failpoint a service and a one-line doc, and every io point the operation its error fails', () => {
    for (const name of failpointNames) {
      const declaration = failpointCatalog[name];
      expect([name, declaration.services.length > 0]).toEqual([name, true]);
      expect(declaration.doc).toMatch(/^[^\n]{10,200}$/);
      expect([name, 'syscall' in declaration]).toEqual([name, declaration.kind === 'io']);
    }
    expect(failpointsOf('monitor')).toEqual([
      'file.replace.beforeWrite',
      'file.replace.beforeFsync',
      'file.replace.beforeRename',
    ]);
  });
});
