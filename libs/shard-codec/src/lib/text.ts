// The field checks every request shares: text measured in UTF-8 bytes and
// refused when it is not well-formed UTF-16, with @bulwark/kv-state's own
// utf8Length, so a request this lib accepts is never refused by the state
// machine for its form.
import { InvalidArgumentError } from '@bulwark/errors';
import { utf8Length } from '@bulwark/kv-state';

const uint64Max = (1n << 64n) - 1n;

export function isUint64(value: unknown): value is bigint {
  return typeof value === 'bigint' && value >= 0n && value <= uint64Max;
}

/**
 * Checks a text field: a string of 1 (0 when `emptyAllowed`) to `bytesMax`
 * bytes of UTF-8 without lone surrogates. Throws InvalidArgumentError naming `field`.
 */
export function checkText(
  value: unknown,
  field: string,
  bytesMax: number,
  limitName: string,
  emptyAllowed = false,
): string {
  if (typeof value !== 'string') throw new InvalidArgumentError(field, 'must be a string');
  if (value === '' && !emptyAllowed) throw new InvalidArgumentError(field, 'must not be empty');
  const bytes = utf8Length(value);
  if (bytes < 0) throw new InvalidArgumentError(field, 'must be well-formed UTF-16 (it holds a lone surrogate)');
  if (bytes > bytesMax)
    throw new InvalidArgumentError(field, `is ${bytes} bytes of UTF-8, over ${limitName} ${bytesMax}`);
  return value;
}

/** Checks a bytes field of at most `bytesMax` bytes and returns a plain Uint8Array view of it (no copy). */
export function checkBytes(value: unknown, field: string, bytesMax: number, limitName: string): Uint8Array {
  if (!(value instanceof Uint8Array)) throw new InvalidArgumentError(field, 'must be bytes');
  if (value.length > bytesMax) {
    throw new InvalidArgumentError(field, `is ${value.length} bytes, over ${limitName} ${bytesMax}`);
  }
  return plainBytes(value);
}

/** A plain Uint8Array over the same memory (a Buffer is one too, but compares unequal to a Uint8Array in tests). */
export function plainBytes(value: Uint8Array): Uint8Array {
  return value.constructor === Uint8Array ? value : new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
}

/** A Buffer over the same memory, as ts-proto's bytes fields are typed. */
export function bufferOf(value: Uint8Array): Buffer {
  return Buffer.isBuffer(value) ? value : Buffer.from(value.buffer, value.byteOffset, value.byteLength);
}
