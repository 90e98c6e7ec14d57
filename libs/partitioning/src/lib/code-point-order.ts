// Keys and group ids are ordered by Unicode code point, which is also the
// order of their UTF-8 bytes: the order a replica's byte-keyed index scans in,
// and the same in every process and language. JavaScript's `<` compares UTF-16
// code units instead, which puts U+10000 and above (surrogate pairs) before
// U+E000..U+FFFF; localeCompare depends on the machine's locale. Neither may
// decide where a key lives.

/** Negative, zero or positive as a sorts before, with or after b in code point order. */
export function compareCodePoints(a: string, b: string): number {
  const sharedLength = Math.min(a.length, b.length);
  for (let i = 0; i < sharedLength; i++) {
    const unitA = a.charCodeAt(i);
    const unitB = b.charCodeAt(i);
    if (unitA !== unitB) {
      return codePointRank(unitA) - codePointRank(unitB);
    }
  }
  return a.length - b.length;
}

// At the first differing code unit, moving surrogates (0xD800..0xDFFF) above
// 0xE000..0xFFFF turns code unit order into code point order.
function codePointRank(unit: number): number {
  if (unit >= 0xe000) return unit - 0x800;
  if (unit >= 0xd800) return unit + 0x2000;
  return unit;
}
