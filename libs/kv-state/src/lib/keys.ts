// Keys, lock names and request ids are strings on the API and UTF-8 on the
// wire and in snapshots. Two rules make that safe for a replicated state:
// only well-formed UTF-16 is accepted (a lone surrogate would encode as
// U+FFFD, so two different keys could become one after a snapshot), and keys
// are ordered by code point, which is UTF-8 byte order (etcd's order, and
// what a router merging pages from several groups can reproduce anywhere).

/**
 * The UTF-8 length of `text`, or -1 when it holds a lone surrogate (it is
 * not well-formed UTF-16 and has no exact UTF-8 form).
 */
export function utf8Length(text: string): number {
  let bytes = 0;
  for (let index = 0; index < text.length; index++) {
    const unit = text.charCodeAt(index);
    if (unit < 0x80) bytes += 1;
    else if (unit < 0x800) bytes += 2;
    else if (unit < 0xd800 || unit >= 0xe000) bytes += 3;
    else {
      const next = text.charCodeAt(index + 1);
      if (unit >= 0xdc00 || !(next >= 0xdc00 && next < 0xe000)) return -1;
      bytes += 4;
      index++;
    }
  }
  return bytes;
}

// Code units at or above U+D800: only where both strings have one can
// UTF-16 order (what `<` compares) differ from code point order.
const highUnit = /[\ud800-\uffff]/;

/**
 * Orders keys by code point (= UTF-8 byte order). Strings compare with the
 * engine's `<` (UTF-16 code units), corrected in the one case where that
 * differs: a surrogate (U+10000 and up) against U+E000-U+FFFF.
 */
export function compareKeys(a: string, b: string): number {
  const order = a < b ? -1 : a > b ? 1 : 0;
  if (order === 0 || !highUnit.test(a) || !highUnit.test(b)) return order;
  const length = Math.min(a.length, b.length);
  for (let index = 0; index < length; index++) {
    let x = a.charCodeAt(index);
    let y = b.charCodeAt(index);
    if (x === y) continue;
    if (x >= 0xd800 && y >= 0xd800) {
      // Surrogates (0xD800-0xDFFF) stand for code points above 0xFFFF.
      x = x < 0xe000 ? x + 0x2000 : x - 0x800;
      y = y < 0xe000 ? y + 0x2000 : y - 0x800;
    }
    return x < y ? -1 : 1;
  }
  return a.length < b.length ? -1 : 1;
}
