import { crc32c } from './crc32c';

const ascii = (text: string) => new TextEncoder().encode(text);

describe('crc32c', () => {
  it('gives the standard check value for "123456789"', () => {
    expect(crc32c(ascii('123456789'))).toBe(0xe3069283);
  });

  // RFC 3720 (iSCSI), appendix B.4.
  it.each([
    ['32 zero bytes', new Uint8Array(32), 0x8a9136aa],
    ['32 bytes of 0xff', new Uint8Array(32).fill(0xff), 0x62a8ab43],
    ['bytes 0 to 31 ascending', Uint8Array.from({ length: 32 }, (_, index) => index), 0x46dd794e],
    ['bytes 31 to 0 descending', Uint8Array.from({ length: 32 }, (_, index) => 31 - index), 0x113fdb5c],
  ])('matches the RFC 3720 vector for %s', (_name, bytes, expected) => {
    expect(crc32c(bytes)).toBe(expected);
  });

  it('is 0 for no bytes', () => {
    expect(crc32c(new Uint8Array(0))).toBe(0);
  });

  it('continues a previous CRC as if the bytes were one run', () => {
    const whole = ascii('promised ballot and accepted values');
    for (const cut of [0, 1, 8, whole.length - 1, whole.length]) {
      expect(crc32c(whole.subarray(cut), crc32c(whole.subarray(0, cut)))).toBe(crc32c(whole));
    }
  });
});
