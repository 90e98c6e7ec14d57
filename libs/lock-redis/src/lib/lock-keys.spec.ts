import { tokenMax } from '@bulwark/lock-core';
import {
  decodeHolder,
  encodeHolder,
  fenceKey,
  holderKey,
  parseTicket,
  parseToken,
  queueKey,
  releasedChannel,
  ticketKey,
  waiterLeasesKey,
} from './lock-keys';

describe('lock keys', () => {
  it('puts the name of the lock in one hash tag shared by all its keys', () => {
    expect(holderKey('orders/42')).toBe('bulwark:lock:{orders/42}');
    expect(fenceKey('orders/42')).toBe('bulwark:lock:{orders/42}:fence');
    expect(releasedChannel('orders/42')).toBe('bulwark:lock:{orders/42}:released');
    expect(ticketKey('orders/42')).toBe('bulwark:lock:{orders/42}:ticket');
    expect(queueKey('orders/42')).toBe('bulwark:lock:{orders/42}:queue');
    expect(waiterLeasesKey('orders/42')).toBe('bulwark:lock:{orders/42}:leases');
  });

  it('never gives one name a key of another, even with braces and suffixes in names', () => {
    const names = ['a', 'a}', 'a}:fence', '{a', 'a:fence', 'a}:released', 'a}:queue', 'a:ticket', 'a}:leases'];
    const keys = names.flatMap((name) => [
      holderKey(name),
      fenceKey(name),
      ticketKey(name),
      queueKey(name),
      waiterLeasesKey(name),
    ]);
    expect(new Set(keys).size).toBe(keys.length);
  });
});

describe('holder values', () => {
  it('write the token in decimal, the attempt, then the owner, separated by colons', () => {
    expect(encodeHolder({ token: 7n, attempt: 'lock-1.ab.3', owner: 'alice' })).toBe('7:lock-1.ab.3:alice');
    expect(encodeHolder({ token: tokenMax, attempt: 'q1.1', owner: '' })).toBe('18446744073709551615:q1.1:');
  });

  it.each([
    ['plain', 'alice', 1n],
    ['empty', '', 5n],
    ['separator-looking', '12:3', 4n],
    ['attempt-looking', 'q1.1:bob', 4n],
    ['only separators', ':::', 9007199254740993n],
    ['unicode', 'ünï 🔒 锁', tokenMax],
    ['newlines', 'a\nb\r\n', 2n],
    ['128 characters', '🔒'.repeat(64), 3n],
  ])('round-trip owners: %s', (_, owner, token) => {
    const attempt = 'A-z_0.9'.padEnd(64, 'x');
    expect(decodeHolder(encodeHolder({ token, attempt, owner }))).toEqual({ token, attempt, owner });
  });

  it('keep triples apart whose plain concatenations collide', () => {
    const holder = (token: bigint, attempt: string, owner: string) => encodeHolder({ token, attempt, owner });
    expect(holder(12n, 'a', '3')).not.toBe(holder(1n, 'a', '23'));
    expect(holder(1n, 'a', 'b:c')).not.toBe(holder(1n, 'a.b', 'c'));
    expect(decodeHolder(holder(1n, 'a', 'b:c'))).toEqual({ token: 1n, attempt: 'a', owner: 'b:c' });
  });

  it.each([
    '',
    'alice',
    '7:alice',
    ':q1.1:alice',
    '-1:q1.1:alice',
    '07:q1.1:alice',
    '1.5:q1.1:alice',
    ' 7:q1.1:alice',
    '18446744073709551616:q1.1:alice',
    '7::alice',
    '7:q 1:alice',
    '7:é:alice',
    `7:${'x'.repeat(65)}:alice`,
  ])('refuse %j, which encodeHolder cannot have written', (value) => {
    expect(decodeHolder(value)).toBeUndefined();
  });
});

describe('parseToken', () => {
  it('reads canonical uint64 decimals exactly, beyond 2^53', () => {
    expect(parseToken('0')).toBe(0n);
    expect(parseToken('9007199254740993')).toBe(9007199254740993n);
    expect(parseToken('18446744073709551615')).toBe(tokenMax);
  });

  it.each(['', '-1', '+1', '01', '1e3', '0x10', '１', '18446744073709551616', '99999999999999999999'])(
    'refuses %j',
    (text) => {
      expect(parseToken(text)).toBeUndefined();
    },
  );
});

describe('parseTicket', () => {
  it('reads canonical decimals up to 2^53 - 1, the largest a queue score holds exactly', () => {
    expect(parseTicket('0')).toBe(0n);
    expect(parseTicket('9007199254740991')).toBe(9007199254740991n);
  });

  it.each(['', '-1', '01', '1.0', '1e+16', '9007199254740992', '18446744073709551615'])('refuses %j', (text) => {
    expect(parseTicket(text)).toBeUndefined();
  });
});
