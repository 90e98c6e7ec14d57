// Comparators for sort(): the default sort compares as strings ([10, 9].sort() is [10, 9]).

/** Ascending numbers, Infinity included (a - b would give NaN for two Infinities). */
export function compareNumbers(a: number, b: number): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Strings by UTF-16 code units: the same order on every machine, unlike localeCompare. */
export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
