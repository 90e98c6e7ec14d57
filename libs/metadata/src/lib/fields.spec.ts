import { expectInvalidArgument } from '@bulwark/errors/testing';
import { checkAddress, checkFingerprint, checkId, checkRequestId } from './fields';
import { addressLengthMax, requestIdLengthMax } from './limits';

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

  it(`accepts the longest address, addressLengthMax (${addressLengthMax}) characters`, () => {
    const name = Array.from({ length: 63 }, () => 'abc').join('.');
    const address = `${name}.a:65535`;
    expect(address).toHaveLength(addressLengthMax);
    expect(checkAddress(address, 'address')).toBe(address);
  });

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
    `${'a'.repeat(1024 * 1024)}:80`,
  ])('rejects %j', (address) => {
    expectInvalidArgument(() => checkAddress(address, 'member.address'), 'member.address');
  });
});

describe('checkRequestId', () => {
  it.each(['a', '7f3c9a1e-0d2b-4c55-9b1a-2e7d0c4f6a81', '~!#$%^&*()_+{}|:"<>?', 'x'.repeat(requestIdLengthMax)])(
    'accepts %s',
    (id) => {
      expect(checkRequestId(id, 'request_id')).toBe(id);
    },
  );

  it.each(['', 'a b', 'tab\there', 'new\nline', 'é', 'x'.repeat(requestIdLengthMax + 1), 'x'.repeat(1024 * 1024)])(
    'rejects %j naming the field',
    (id) => {
      expectInvalidArgument(() => checkRequestId(id, 'request_id'), 'request_id');
    },
  );
});

describe('checkFingerprint', () => {
  it('accepts a SHA-256 as 64 lowercase hex digits only', () => {
    expect(checkFingerprint('0a'.repeat(32), 'f')).toBe('0a'.repeat(32));
    for (const bad of ['', '0A'.repeat(32), '0a'.repeat(31), '0a'.repeat(33), 42]) {
      expectInvalidArgument(() => checkFingerprint(bad, 'f'), 'f');
    }
  });
});
