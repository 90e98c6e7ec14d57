// Scan page tokens. A token names the last key a page returned and the
// prefix it was for, nothing about replicas, so the next page is read from
// wherever that key range lives then: across a failover, a ring change or
// another router. base64url over: version byte, prefix length (uint16 BE),
// prefix bytes, last key bytes.
import { InvalidArgumentError } from '@bulwark/errors';

const tokenVersion = 1;
const headerBytes = 3;
const base64UrlPattern = /^[A-Za-z0-9_-]+$/;
// ignoreBOM keeps a leading U+FEFF, which keys may start with; by default the decoder drops it.
const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

export interface PageToken {
  readonly prefix: string;
  /** The last key returned; the next page starts after it. */
  readonly afterKey: string;
}

export function encodePageToken(token: PageToken): string {
  const prefix = Buffer.from(token.prefix, 'utf8');
  const after = Buffer.from(token.afterKey, 'utf8');
  const bytes = Buffer.alloc(headerBytes + prefix.length + after.length);
  bytes.writeUInt8(tokenVersion, 0);
  bytes.writeUInt16BE(prefix.length, 1);
  prefix.copy(bytes, headerBytes);
  after.copy(bytes, headerBytes + prefix.length);
  return bytes.toString('base64url');
}

/**
 * The token as sent with a request for prefix; InvalidArgumentError naming
 * page_token when it is not one this router made, or was made for another
 * prefix. keyBytesMax bounds the key it names.
 */
export function decodePageToken(text: string, prefix: string, keyBytesMax: number): PageToken {
  const invalid = (problem: string) => new InvalidArgumentError('page_token', problem);
  if (text.length > Math.ceil(((headerBytes + 2 * keyBytesMax) * 4) / 3) || !base64UrlPattern.test(text)) {
    throw invalid('is not a page token from a previous Scan');
  }
  const bytes = Buffer.from(text, 'base64url');
  if (bytes.length < headerBytes || bytes.readUInt8(0) !== tokenVersion) {
    throw invalid('is not a page token from a previous Scan');
  }
  const prefixLength = bytes.readUInt16BE(1);
  if (headerBytes + prefixLength >= bytes.length) throw invalid('is not a page token from a previous Scan');
  let tokenPrefix: string;
  let afterKey: string;
  try {
    tokenPrefix = strictUtf8.decode(bytes.subarray(headerBytes, headerBytes + prefixLength));
    afterKey = strictUtf8.decode(bytes.subarray(headerBytes + prefixLength));
  } catch {
    throw invalid('is not a page token from a previous Scan');
  }
  if (tokenPrefix !== prefix) {
    throw invalid(`was made for prefix ${JSON.stringify(tokenPrefix)}, not ${JSON.stringify(prefix)}`);
  }
  if (!afterKey.startsWith(prefix) || Buffer.byteLength(afterKey, 'utf8') > keyBytesMax) {
    throw invalid('is not a page token from a previous Scan');
  }
  return { prefix: tokenPrefix, afterKey };
}
