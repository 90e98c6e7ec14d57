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
  tokenMax,
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
  it('write the token in decimal, then the separator, then the owner', () => {
    expect(encodeHolder('alice', 7n)).toBe('7:alice');
    expect(encodeHolder('', tokenMax)).toBe('18446744073709551615:');
  });

  it.each([
    ['plain', 'alice', 1n],
    ['empty', '', 5n],
    ['separator-looking', '12:3', 4n],
    ['only separators', ':::', 9007199254740993n],
    ['unicode', 'ünï 🔒 锁', tokenMax],
    ['newlines', 'a\nb\r\n', 2n],
    ['128 characters', '🔒'.repeat(64), 3n],
  ])('round-trip owners: %s', (_, owner, token) => {
    expect(decodeHolder(encodeHolder(owner, token))).toEqual({ owner, token });
  });

  it('keep owner-token pairs apart whose plain concatenations collide', () => {
    expect(encodeHolder('3', 12n)).not.toBe(encodeHolder('23', 1n));
    expect(encodeHolder('3', 12n)).not.toBe(encodeHolder('2:3', 1n));
    expect(decodeHolder(encodeHolder('2:3', 1n))).toEqual({ owner: '2:3', token: 1n });
  });

  it.each(['', 'alice', ':alice', '-1:alice', '07:alice', '1.5:alice', ' 7:alice', '18446744073709551616:alice'])(
    'refuse %j, which encodeHolder cannot have written',
    (value) => {
      expect(decodeHolder(value)).toBeUndefined();
    },
  );
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
