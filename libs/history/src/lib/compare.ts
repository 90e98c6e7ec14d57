// Comparators for sort(): the default sort compares as strings ([10, 9].sort() is [10, 9]).

/**
 * Ascending numbers and bigints, Infinity included (a - b would give NaN for
 * two Infinities); exact across the two kinds, which JS compares by value.
 */
export function compareNumbers(a: number | bigint, b: number | bigint): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Strings by UTF-16 code units: the same order on every machine, unlike localeCompare. */
export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
