import { expectInvalidArgument } from '@bulwark/errors/testing';
import { checkAddress, checkId, checkUnixMs } from './fields';
import { unixMsMax } from './limits';

describe('checkId', () => {
  it.each(['a', '0', 'replica-a1', 'a'.repeat(64), '9-'])('accepts %s', (id) => {
    expect(checkId(id, 'id')).toBe(id);
  });

  it.each(['', '-a', 'A', 'a_b', 'a.b', 'a'.repeat(65), 'ä'])('rejects %j naming the field', (id) => {
    expectInvalidArgument(() => checkId(id, 'member.id'), 'member.id');
  });
});

describe('checkAddress', () => {
  it.each(['replica-a1:7100', 'localhost:1', '127.0.0.1:65535', '[::1]:7100', '[2001:db8::1]:443', 'A.example.com:80'])(
    'accepts %s',
    (address) => {
      expect(checkAddress(address, 'address')).toBe(address);
    },
  );

  it.each([
    'replica-a1',
    ':7100',
    'host:',
    'host:0',
    'host:65536',
    'host:07100',
    'host:71a',
    'my_host:80',
    '-host:80',
    'host-:80',
    'a..b:80',
    '[::1:80',
    '[]:80',
    '[:]:80',
    'host name:80',
    `${'a'.repeat(64)}:80`,
    `${Array.from({ length: 64 }, () => 'abc').join('.')}:80`,
  ])('rejects %j', (address) => {
    expectInvalidArgument(() => checkAddress(address, 'member.address'), 'member.address');
  });
});

describe('checkUnixMs', () => {
  it(`accepts 0 to unixMsMax (${unixMsMax}) as bigint only`, () => {
    expect(checkUnixMs(0n, 'now')).toBe(0n);
    expect(checkUnixMs(unixMsMax, 'now')).toBe(unixMsMax);
    expectInvalidArgument(() => checkUnixMs(unixMsMax + 1n, 'now'), 'now');
    expectInvalidArgument(() => checkUnixMs(1000, 'now'), 'now');
  });
});
