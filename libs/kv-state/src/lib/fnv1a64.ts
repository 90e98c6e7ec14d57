// FNV-1a, 64-bit (Fowler, Noll, Vo): a byte-at-a-time hash with no tables
// and no imports, so it is the same on every member and in a pure core.
// Each step (h ^ byte) * prime is a bijection of h, so changing any one byte
// always changes the result. Computed on two 32-bit halves: bigint
// arithmetic per byte would be far slower.

const offsetBasisHigh = 0xcbf29ce4;
const offsetBasisLow = 0x84222325;
/** The FNV prime 2^40 + 0x1b3: multiplying is h * 0x1b3 + (h << 40). */
const primeLow = 0x1b3;

export class Fnv1a64 {
  private high = offsetBasisHigh;
  private low = offsetBasisLow;

  update(bytes: Uint8Array): this {
    let high = this.high;
    let low = this.low;
    for (let index = 0; index < bytes.length; index++) {
      low ^= bytes[index] as number;
      low >>>= 0;
      // low * 0x1b3 < 2^41, exact in a double; its upper bits carry into high.
      const lowProduct = low * primeLow;
      high = (Math.imul(high, primeLow) + ((lowProduct / 0x1_0000_0000) | 0) + (low << 8)) >>> 0;
      low = lowProduct >>> 0;
    }
    this.high = high;
    this.low = low;
    return this;
  }

  /** The hash of every byte passed to update so far. */
  get value(): bigint {
    return (BigInt(this.high) << 32n) | BigInt(this.low);
  }
}

/** FNV-1a 64 of `bytes`. */
export function fnv1a64(bytes: Uint8Array): bigint {
  return new Fnv1a64().update(bytes).value;
}
