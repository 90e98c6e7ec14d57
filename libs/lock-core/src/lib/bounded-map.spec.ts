import { setBounded } from './bounded-map';

describe('setBounded', () => {
  it('keeps at most max keys, forgetting the least recently set first', () => {
    const map = new Map<string, number>();
    for (const [key, value] of [
      ['a', 1],
      ['b', 2],
      ['c', 3],
    ] as const)
      setBounded(map, key, value, 2);
    expect([...map]).toEqual([
      ['b', 2],
      ['c', 3],
    ]);
    // Setting b again makes it the most recent: c is the one forgotten next.
    setBounded(map, 'b', 4, 2);
    setBounded(map, 'd', 5, 2);
    expect([...map]).toEqual([
      ['b', 4],
      ['d', 5],
    ]);
  });
});
