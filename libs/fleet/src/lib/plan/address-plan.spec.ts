import { ComposeError } from '../compose/compose-error';
import { addressesPerSubnetMax, planAddresses } from './address-plan';

describe('planAddresses', () => {
  it('gives .2, .3, ... in order', () => {
    expect([...planAddresses(['a', 'b', 'c'], '127.77.9')]).toEqual([
      ['a', '127.77.9.2'],
      ['b', '127.77.9.3'],
      ['c', '127.77.9.4'],
    ]);
  });

  it('fills the /24 up to .254 and no further', () => {
    const names = Array.from({ length: addressesPerSubnetMax }, (_, index) => `s${index}`);
    expect(planAddresses(names, '127.0.0').get(`s${addressesPerSubnetMax - 1}`)).toBe('127.0.0.254');
    expect(() => planAddresses([...names, 'one-more'], '127.0.0')).toThrow(ComposeError);
  });

  it('accepts only loopback subnets', () => {
    for (const subnet of ['10.0.0', '127.256.0', '127.0', '127.0.0.1', '127.01.0']) {
      expect(() => planAddresses(['a'], subnet)).toThrow(RangeError);
    }
  });
});
