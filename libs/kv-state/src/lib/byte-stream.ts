// Writing and reading a snapshot as one byte stream cut into chunks at any
// point: a record (a 1 MiB value with its key) may span chunks, so chunks
// stay near their size whatever the values are, and a transport may cut the
// stream differently on the way. Both sides hash the bytes they pass with
// FNV-1a 64, which the stream ends with.
import { Fnv1a64 } from './fnv1a64';
import { KvSnapshotError } from './snapshot-error';

const utf8 = new TextEncoder();
// fatal: invalid UTF-8 is corruption, not U+FFFD; ignoreBOM: a key may start with U+FEFF.
const utf8Strict = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

export function encodeUtf8(text: string): Uint8Array {
  return utf8.encode(text);
}

export class ChunkWriter {
  private chunk: Uint8Array;
  private view: DataView;
  private at = 0;
  private hashedTo = 0;
  private hashing = true;
  private readonly full: Uint8Array[] = [];
  private readonly scratch = new DataView(new ArrayBuffer(8));
  private readonly hash = new Fnv1a64();

  constructor(private readonly chunkBytes: number) {
    if (!Number.isSafeInteger(chunkBytes) || chunkBytes < 16) {
      throw new RangeError(`chunkBytes must be an integer of at least 16, got ${chunkBytes}`);
    }
    this.chunk = new Uint8Array(chunkBytes);
    this.view = new DataView(this.chunk.buffer);
  }

  u8(value: number): void {
    if (this.at === this.chunkBytes) this.flush();
    this.chunk[this.at++] = value;
  }

  u16(value: number): void {
    this.scratch.setUint16(0, value);
    this.fixed(2);
  }

  u32(value: number): void {
    if (this.chunkBytes - this.at < 4) {
      this.scratch.setUint32(0, value);
      this.fixed(4);
      return;
    }
    this.view.setUint32(this.at, value);
    this.at += 4;
  }

  u64(value: bigint): void {
    if (this.chunkBytes - this.at < 8) {
      this.scratch.setBigUint64(0, value);
      this.fixed(8);
      return;
    }
    this.view.setBigUint64(this.at, value);
    this.at += 8;
  }

  bytes(source: Uint8Array): void {
    let from = 0;
    while (from < source.length) {
      if (this.at === this.chunkBytes) this.flush();
      const count = Math.min(source.length - from, this.chunkBytes - this.at);
      this.chunk.set(source.subarray(from, from + count), this.at);
      this.at += count;
      from += count;
    }
  }

  /** Writes `text`, well-formed (checked on the way in), as the `length` bytes of UTF-8 that utf8Length counted. */
  text(text: string, length: number): void {
    if (this.chunkBytes - this.at < length) {
      this.bytes(utf8.encode(text));
      return;
    }
    // Encoded in place: TextEncoder's allocation per short key costs more than the key.
    const chunk = this.chunk;
    let at = this.at;
    for (let index = 0; index < text.length; index++) {
      const unit = text.charCodeAt(index);
      if (unit < 0x80) {
        chunk[at++] = unit;
      } else if (unit < 0x800) {
        chunk[at++] = 0xc0 | (unit >> 6);
        chunk[at++] = 0x80 | (unit & 0x3f);
      } else if (unit < 0xd800 || unit >= 0xe000) {
        chunk[at++] = 0xe0 | (unit >> 12);
        chunk[at++] = 0x80 | ((unit >> 6) & 0x3f);
        chunk[at++] = 0x80 | (unit & 0x3f);
      } else {
        const point = 0x10000 + ((unit - 0xd800) << 10) + (text.charCodeAt(++index) - 0xdc00);
        chunk[at++] = 0xf0 | (point >> 18);
        chunk[at++] = 0x80 | ((point >> 12) & 0x3f);
        chunk[at++] = 0x80 | ((point >> 6) & 0x3f);
        chunk[at++] = 0x80 | (point & 0x3f);
      }
    }
    this.at = at;
  }

  /** Whether a chunk has filled since the last takeFull. */
  get hasFull(): boolean {
    return this.full.length > 0;
  }

  /** Chunks filled since the last call. */
  takeFull(): Uint8Array[] {
    return this.full.splice(0, this.full.length);
  }

  /** The hash of everything written so far; what is written after it is not hashed. */
  sealHash(): bigint {
    this.hash.update(this.chunk.subarray(this.hashedTo, this.at));
    this.hashedTo = this.at;
    this.hashing = false;
    return this.hash.value;
  }

  /** Every chunk not taken yet, the last one cut to what was written. */
  finish(): Uint8Array[] {
    if (this.at > 0) this.full.push(this.chunk.subarray(0, this.at));
    this.at = 0;
    return this.takeFull();
  }

  private fixed(size: number): void {
    this.bytes(new Uint8Array(this.scratch.buffer, 0, size));
  }

  private flush(): void {
    if (this.hashing) this.hash.update(this.chunk.subarray(this.hashedTo));
    this.full.push(this.chunk);
    this.chunk = new Uint8Array(this.chunkBytes);
    this.view = new DataView(this.chunk.buffer);
    this.at = 0;
    this.hashedTo = 0;
  }
}

const empty = new Uint8Array(0);

export class ChunkReader {
  private chunk: Uint8Array = empty;
  private view: DataView = new DataView(empty.buffer);
  private at = 0;
  private hashedTo = 0;
  private hashing = true;
  /** Bytes of the chunks before the current one. */
  private passed = 0;
  private readonly hash = new Fnv1a64();

  constructor(private readonly chunks: Iterator<Uint8Array>) {}

  /** Bytes read so far, for error messages. */
  get position(): number {
    return this.passed + this.at;
  }

  u8(what: string): number {
    this.need(what, 1);
    return this.chunk[this.at++] as number;
  }

  u16(what: string): number {
    if (this.chunk.length - this.at >= 2) {
      const value = this.view.getUint16(this.at);
      this.at += 2;
      return value;
    }
    return new DataView(this.bytes(2, what).buffer).getUint16(0);
  }

  u32(what: string): number {
    if (this.chunk.length - this.at >= 4) {
      const value = this.view.getUint32(this.at);
      this.at += 4;
      return value;
    }
    return new DataView(this.bytes(4, what).buffer).getUint32(0);
  }

  u64(what: string): bigint {
    if (this.chunk.length - this.at >= 8) {
      const value = this.view.getBigUint64(this.at);
      this.at += 8;
      return value;
    }
    return new DataView(this.bytes(8, what).buffer).getBigUint64(0);
  }

  /** A copy of the next `count` bytes: the caller's chunks may be reused once restore returns. */
  bytes(count: number, what: string): Uint8Array {
    const copy = new Uint8Array(count);
    let filled = 0;
    while (filled < count) {
      this.need(what, count - filled);
      const take = Math.min(count - filled, this.chunk.length - this.at);
      copy.set(this.chunk.subarray(this.at, this.at + take), filled);
      this.at += take;
      filled += take;
    }
    return copy;
  }

  /** `count` bytes of UTF-8 as a string. */
  text(count: number, what: string): string {
    if (count <= 64 && this.chunk.length - this.at >= count) {
      // Short ASCII, most keys: TextDecoder's cost per call is far above the bytes'.
      const bytes = this.chunk.subarray(this.at, this.at + count);
      if (bytes.every((byte) => byte < 0x80)) {
        this.at += count;
        return String.fromCharCode(...bytes);
      }
    }
    const at = this.position;
    const bytes = this.bytes(count, what);
    try {
      return utf8Strict.decode(bytes);
    } catch {
      throw new KvSnapshotError(`${what} at byte ${at} is not valid UTF-8`);
    }
  }

  /** The hash of every byte read so far; what is read after it is not hashed. */
  sealHash(): bigint {
    this.hash.update(this.chunk.subarray(this.hashedTo, this.at));
    this.hashedTo = this.at;
    this.hashing = false;
    return this.hash.value;
  }

  /** Whether every byte has been read (empty chunks after the end are fine). */
  atEnd(): boolean {
    while (this.at === this.chunk.length) if (!this.advance()) return true;
    return false;
  }

  /** Makes sure the current chunk has a byte left; `missing` is how many `what` still needs. */
  private need(what: string, missing: number): void {
    while (this.at === this.chunk.length) {
      if (!this.advance()) {
        throw new KvSnapshotError(`truncated: ${what} needs ${missing} more bytes at byte ${this.position}`);
      }
    }
  }

  private advance(): boolean {
    if (this.hashing) this.hash.update(this.chunk.subarray(this.hashedTo));
    this.passed += this.chunk.length;
    const next = this.chunks.next();
    if (next.done) {
      this.chunk = empty;
      this.at = 0;
      this.hashedTo = 0;
      return false;
    }
    if (!(next.value instanceof Uint8Array)) {
      throw new KvSnapshotError(`chunk after byte ${this.passed} is not a Uint8Array`);
    }
    this.chunk = next.value;
    this.view = new DataView(this.chunk.buffer, this.chunk.byteOffset, this.chunk.byteLength);
    this.at = 0;
    this.hashedTo = 0;
    return true;
  }
}
