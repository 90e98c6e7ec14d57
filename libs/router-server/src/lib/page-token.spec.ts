import { InvalidArgumentError } from '@bulwark/errors';
import { decodePageToken, encodePageToken, type PageToken } from './page-token';

const keyBytesMax = 1024;

/** A token from raw bytes: version, prefix length (uint16 BE), prefix, last key. */
function rawToken(version: number, prefix: Buffer, afterKey: Buffer, prefixLength = prefix.length): string {
  const header = Buffer.from([version, prefixLength >> 8, prefixLength & 0xff]);
  return Buffer.concat([header, prefix, afterKey]).toString('base64url');
}

/** What decodePageToken throws for text, or a failure when it throws nothing. */
function decodeError(text: string, prefix: string): InvalidArgumentError {
  try {
    decodePageToken(text, prefix, keyBytesMax);
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect((error as InvalidArgumentError).details.field).toBe('page_token');
    return error as InvalidArgumentError;
  }
  throw new Error(`decodePageToken accepted ${JSON.stringify(text)}`);
}

const notAToken = 'page_token: is not a page token from a previous Scan';

describe('page tokens', () => {
  describe('round trip', () => {
    it.each<[string, PageToken]>([
      ['an ASCII prefix and key', { prefix: 'users/', afterKey: 'users/0042' }],
      ['a key equal to its prefix', { prefix: 'users/', afterKey: 'users/' }],
      ['an empty prefix', { prefix: '', afterKey: 'any-key' }],
      ['unicode in prefix and key', { prefix: 'ключ/日本/', afterKey: 'ключ/日本/😀-émoji' }],
      ['a key starting with U+FEFF under an empty prefix', { prefix: '', afterKey: '\uFEFFkey' }],
      ['a prefix starting with U+FEFF', { prefix: '\uFEFF', afterKey: '\uFEFF\uFEFF' }],
      ['a key of keyBytesMax bytes', { prefix: 'p', afterKey: 'p'.padEnd(keyBytesMax, 'x') }],
    ])('decodes what it encoded: %s', (_, token) => {
      const text = encodePageToken(token);
      expect(text).toMatch(/^[A-Za-z0-9_-]+$/);
      expect(decodePageToken(text, token.prefix, keyBytesMax)).toEqual(token);
    });

    it('lays a token out as version 1, prefix length, prefix bytes, key bytes', () => {
      const bytes = Buffer.from(encodePageToken({ prefix: 'é/', afterKey: 'é/k' }), 'base64url');
      expect([...bytes]).toEqual([1, 0, 3, ...Buffer.from('é/'), ...Buffer.from('é/k')]);
    });
  });

  describe('rejects, naming page_token', () => {
    it.each([
      ['a character outside base64url', 'AQABcHBr+'],
      ['a slash', 'AQABcHBr/'],
      ['base64 padding', 'AQABcHBr='],
      ['whitespace', 'AQAB cHBr'],
    ])('text with %s', (_, text) => {
      expect(decodeError(text, 'p').message).toBe(notAToken);
    });

    it('a version other than 1', () => {
      const valid = rawToken(1, Buffer.from('p'), Buffer.from('pk'));
      expect(decodePageToken(valid, 'p', keyBytesMax)).toEqual({ prefix: 'p', afterKey: 'pk' });
      for (const version of [0, 2, 255]) {
        expect(decodeError(rawToken(version, Buffer.from('p'), Buffer.from('pk')), 'p').message).toBe(notAToken);
      }
    });

    it.each([
      ['within the version byte', Buffer.from([1]).toString('base64url')],
      ['within the prefix length', Buffer.from([1, 0]).toString('base64url')],
      ['after the header', rawToken(1, Buffer.alloc(0), Buffer.alloc(0))],
      ['within the prefix', rawToken(1, Buffer.from('pre'), Buffer.alloc(0), 5)],
      ['at the end of the prefix, with no key', rawToken(1, Buffer.from('pre'), Buffer.alloc(0))],
      ['to a single base64url character', 'A'],
    ])('a token truncated %s', (_, text) => {
      expect(decodeError(text, 'pre').message).toBe(notAToken);
    });

    it.each([
      ['a byte that never starts a character, in the key', rawToken(1, Buffer.from('p'), Buffer.from([0x70, 0xff]))],
      ['a character cut short, in the prefix', rawToken(1, Buffer.from([0x70, 0xc3]), Buffer.from('pk'))],
      ['a character cut short at the end of the key', rawToken(1, Buffer.from('p'), Buffer.from('pé').subarray(0, 2))],
      ['an overlong encoding of "/"', rawToken(1, Buffer.from('p'), Buffer.from([0x70, 0xc0, 0xaf]))],
      ['an encoded surrogate', rawToken(1, Buffer.from('p'), Buffer.from([0x70, 0xed, 0xa0, 0x80]))],
    ])('invalid UTF-8: %s', (_, text) => {
      expect(decodeError(text, 'p').message).toBe(notAToken);
    });

    it('a token made for another prefix, naming both prefixes', () => {
      const text = encodePageToken({ prefix: 'orders/', afterKey: 'orders/7' });
      expect(decodeError(text, 'users/').message).toBe('page_token: was made for prefix "orders/", not "users/"');
      expect(decodeError(text, '').message).toBe('page_token: was made for prefix "orders/", not ""');
    });

    it('a key that does not start with the prefix', () => {
      expect(decodeError(encodePageToken({ prefix: 'users/', afterKey: 'orders/7' }), 'users/').message).toBe(
        notAToken,
      );
    });

    it('a key longer than keyBytesMax', () => {
      // Short enough as text; too long once decoded (two-byte characters).
      const text = encodePageToken({ prefix: '', afterKey: 'é'.repeat(keyBytesMax / 2 + 1) });
      expect(decodeError(text, '').message).toBe(notAToken);
    });

    it('text longer than any token for keys of keyBytesMax, before decoding it', () => {
      const longest = encodePageToken({ prefix: 'x'.repeat(keyBytesMax), afterKey: 'x'.repeat(keyBytesMax) });
      expect(decodePageToken(longest, 'x'.repeat(keyBytesMax), keyBytesMax).afterKey).toHaveLength(keyBytesMax);
      expect(decodeError(`${longest}AAAA`, 'x'.repeat(keyBytesMax)).message).toBe(notAToken);
      expect(decodeError('A'.repeat(10 * keyBytesMax), '').message).toBe(notAToken);
    });
  });
});
