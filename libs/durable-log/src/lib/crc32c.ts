// CRC-32C (Castagnoli), the checksum of iSCSI, ext4 metadata and LevelDB
// logs: it detects every burst error up to 32 bits, so a flipped or torn
// record fails its check. Table-driven, one byte per step: records are small
// and the fsync after each append costs far more than this loop.

/** The Castagnoli polynomial 0x1EDC6F41, bit-reversed for the LSB-first table. */
const castagnoliReflected = 0x82f63b78;

const table = buildTable();

function buildTable(): Uint32Array {
  const entries = new Uint32Array(256);
  for (let byte = 0; byte < 256; byte++) {
    let crc = byte;
    for (let bit = 0; bit < 8; bit++) crc = crc & 1 ? (crc >>> 1) ^ castagnoliReflected : crc >>> 1;
    entries[byte] = crc >>> 0;
  }
  return entries;
}

/**
 * CRC-32C of `bytes`. Pass the CRC of the bytes before them as `previous` to
 * continue it: crc32c(b, crc32c(a)) equals crc32c of a followed by b.
 */
export function crc32c(bytes: Uint8Array, previous = 0): number {
  let crc = ~previous >>> 0;
  for (const byte of bytes) crc = (table[(crc ^ byte) & 0xff] as number) ^ (crc >>> 8);
  return ~crc >>> 0;
}
