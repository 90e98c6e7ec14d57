import { MemoryLockServer } from '@bulwark/lock-core';
import { fenceKey, holderKey, queueKey, releasedChannel, ticketKey, waiterLeasesKey } from './lock-keys';
import {
  configValueOf,
  expiryEventsEnabled,
  judgeServerSettings,
  nameOfHolderKey,
  parseReleasedMessage,
} from './redis-lock-events-parsing';

describe('parseReleasedMessage', () => {
  it('reads a canonical decimal token and an attempt as released, the token exact beyond 2^53', () => {
    expect(parseReleasedMessage('5:q1.1')).toEqual({ kind: 'released', token: 5n, attempt: 'q1.1' });
    expect(parseReleasedMessage('9007199254740993:lock-2.9f_x.17')).toEqual({
      kind: 'released',
      token: 9007199254740993n,
      attempt: 'lock-2.9f_x.17',
    });
    const longest = 'A-z_0.9'.padEnd(64, 'x');
    expect(parseReleasedMessage(`18446744073709551615:${longest}`)).toEqual({
      kind: 'released',
      token: 2n ** 64n - 1n,
      attempt: longest,
    });
  });

  it('reads what MemoryLockServer tells of a release the same way', async () => {
    const server = new MemoryLockServer('m', () => 0);
    const messages: string[] = [];
    server.onReleased = (_name, message) => messages.push(message);
    await server.grant('job', 'a:b', 9007199254740993n, 'lock-1.x.3', 1_000);
    await server.release('job', 'a:b', 9007199254740993n);
    expect(messages.map(parseReleasedMessage)).toEqual([
      { kind: 'released', token: 9007199254740993n, attempt: 'lock-1.x.3' },
    ]);
  });

  it('reads a release that handed the lock over, with the new token and claim attempt', async () => {
    expect(parseReleasedMessage('5:q1.1:6:q2.7')).toEqual({
      kind: 'released',
      token: 5n,
      attempt: 'q1.1',
      handedTo: { token: 6n, attempt: 'q2.7' },
    });
    const server = new MemoryLockServer('m', () => 0);
    const messages: string[] = [];
    server.onReleased = (_name, message) => messages.push(message);
    await server.grant('job', 'a', 5n, 'q1.1', 1_000);
    await server.enqueue('job', 'w', 1n, 1_000, 100, { claim: { owner: 'b:c', attempt: 'q2.7', ttlMs: 1_000 } });
    await server.release('job', 'a', 5n, 100, { nextToken: 6n });
    expect(messages.map(parseReleasedMessage)).toEqual([parseReleasedMessage('5:q1.1:6:q2.7')]);
  });

  it('reads a handover of a lock that was free (nothing released), with the new token and claim attempt', async () => {
    expect(parseReleasedMessage('handed:6:q2.7')).toEqual({ kind: 'handed', handedTo: { token: 6n, attempt: 'q2.7' } });
    const server = new MemoryLockServer('m', () => 0);
    const messages: string[] = [];
    server.onReleased = (_name, message) => messages.push(message);
    await server.enqueue('job', 'w', 1n, 1_000, 100, { claim: { owner: 'b', attempt: 'q2.7', ttlMs: 1_000 } });
    await server.release('job', 'a', 5n, 100, { nextToken: 6n, releaser: {} });
    expect(messages.map(parseReleasedMessage)).toEqual([parseReleasedMessage('handed:6:q2.7')]);
  });

  it('reads the literal left as a waiter leaving', () => {
    expect(parseReleasedMessage('left')).toEqual({ kind: 'left' });
  });

  it.each([
    '',
    '5',
    '007:q1.1',
    '-1:q1.1',
    '+1:q1.1',
    '1.0:q1.1',
    ' 1:q1.1',
    '18446744073709551616:q1.1',
    '5:',
    ':q1.1',
    '5:q1:1',
    '5:q1.1:6',
    '5:q1.1:6:',
    '5:q1.1:x:q2.1',
    '5:q1.1:6:q2.1:7',
    '5:q 1',
    `5:${'x'.repeat(65)}`,
    'Left',
    'left ',
    'released',
    'handed',
    'handed:6',
    'handed:6:',
    'handed:x:q2.1',
    'handed:6:q2.1:7',
    'Handed:6:q2.1',
  ])('rejects %j, which no script sends', (message) => {
    expect(parseReleasedMessage(message)).toBeUndefined();
  });
});

describe('nameOfHolderKey', () => {
  it.each(['a', 'orders/42', 'ünïcødé 🔒', '{x}', 'a}:fence', 'x}', ':', '}'])('inverts holderKey for %j', (name) => {
    expect(nameOfHolderKey(holderKey(name))).toBe(name);
  });

  it('takes no other key of a lock for a holder key, whatever the name holds', () => {
    for (const name of ['a', 'a}', 'a}:fence', '{b}']) {
      for (const key of [fenceKey, releasedChannel, ticketKey, queueKey, waiterLeasesKey]) {
        expect(nameOfHolderKey(key(name))).toBeUndefined();
      }
    }
  });

  it.each(['bulwark:lock:{}', 'bulwark:lock:a', 'bulwark:lock:{a', 'bulwark:lock{a}', 'other:{a}', 'a', ''])(
    'takes %j for no holder key',
    (key) => {
      expect(nameOfHolderKey(key)).toBeUndefined();
    },
  );
});

describe('expiryEventsEnabled', () => {
  it.each([
    ['Ex', true],
    ['xE', true],
    ['KEA', true],
    ['EA', true],
    ['Egx', true],
    ['', false],
    ['E', false],
    ['x', false],
    ['Kx', false],
    ['KA', false],
    ['ex', false],
    ['EX', false],
  ])('%j: %s', (flags, enabled) => {
    expect(expiryEventsEnabled(flags)).toBe(enabled);
  });
});

describe('judgeServerSettings', () => {
  it('finds nothing to warn about on an append-only, fsync-always server with expiry events', () => {
    expect(judgeServerSettings({ appendonly: 'yes', appendfsync: 'always', notifyKeyspaceEvents: 'xE' })).toEqual({
      appendfsyncAlways: true,
      expiryEvents: true,
      problem: undefined,
    });
  });

  it.each([
    ['yes', 'everysec'],
    ['yes', 'no'],
    ['no', 'always'],
  ])('warns that fences can be forgotten with appendonly %s and appendfsync %s', (appendonly, appendfsync) => {
    const safety = judgeServerSettings({ appendonly, appendfsync, notifyKeyspaceEvents: 'Ex' });
    expect(safety.appendfsyncAlways).toBe(false);
    expect(safety.expiryEvents).toBe(true);
    expect(safety.problem).toContain(`appendonly is "${appendonly}" and appendfsync "${appendfsync}"`);
    expect(safety.problem).toContain('fence');
  });

  it.each([
    ['100mb', 'volatile-lru'],
    ['100mb', 'allkeys-lfu'],
  ])('warns that keys can be evicted with maxmemory %s and maxmemory-policy %s', (maxmemory, maxmemoryPolicy) => {
    const safety = judgeServerSettings({
      appendonly: 'yes',
      appendfsync: 'always',
      notifyKeyspaceEvents: 'Ex',
      maxmemory,
      maxmemoryPolicy,
    });
    expect(safety.problem).toContain(`maxmemory is "${maxmemory}" with maxmemory-policy "${maxmemoryPolicy}"`);
  });

  it.each([
    ['0', 'allkeys-lru'],
    ['100mb', 'noeviction'],
  ])('accepts maxmemory %s with maxmemory-policy %s: nothing is evicted', (maxmemory, maxmemoryPolicy) => {
    const settings = {
      appendonly: 'yes',
      appendfsync: 'always',
      notifyKeyspaceEvents: 'Ex',
      maxmemory,
      maxmemoryPolicy,
    };
    expect(judgeServerSettings(settings).problem).toBeUndefined();
  });

  it('warns that expiries are not announced without E and x', () => {
    const safety = judgeServerSettings({ appendonly: 'yes', appendfsync: 'always', notifyKeyspaceEvents: 'K$' });
    expect(safety).toMatchObject({ appendfsyncAlways: true, expiryEvents: false });
    expect(safety.problem).toContain('notify-keyspace-events is "K$"');
  });

  it('leaves unknown what CONFIG GET did not answer, and says why', () => {
    const refused = new Error("ERR unknown command 'CONFIG'");
    const safety = judgeServerSettings({ appendonly: refused, appendfsync: refused, notifyKeyspaceEvents: refused });
    expect(safety).toMatchObject({ appendfsyncAlways: undefined, expiryEvents: undefined });
    expect(safety.problem).toContain("CONFIG GET failed (ERR unknown command 'CONFIG')");
  });

  it('judges what it knows when only some settings are known', () => {
    const safety = judgeServerSettings({
      appendonly: 'yes',
      appendfsync: new Error('no value for appendfsync'),
      notifyKeyspaceEvents: '',
    });
    expect(safety).toMatchObject({ appendfsyncAlways: undefined, expiryEvents: false });
    expect(safety.problem).toContain('CONFIG GET failed');
    expect(safety.problem).toContain('notify-keyspace-events is ""');
  });
});

describe('configValueOf', () => {
  it('reads the value of a [parameter, value] reply', () => {
    expect(configValueOf('appendfsync', ['appendfsync', 'always'])).toBe('always');
    expect(configValueOf('notify-keyspace-events', ['notify-keyspace-events', ''])).toBe('');
  });

  it.each([[[]], [['appendfsync']], [['other', 'always']], [['appendfsync', 1]], ['always'], [null]])(
    'is an Error for %j',
    (reply) => {
      expect(configValueOf('appendfsync', reply)).toBeInstanceOf(Error);
    },
  );
});
