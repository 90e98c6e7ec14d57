// Maps kept to a size: what an instance remembers per lock or per waiter
// must not grow with every name it ever saw.

/**
 * Sets key to value in map and keeps at most max keys, forgetting the least
 * recently set first (a Map iterates in insertion order, and setting a key
 * again moves it to the end).
 */
export function setBounded<K, V>(map: Map<K, V>, key: K, value: V, max: number): void {
  map.delete(key);
  map.set(key, value);
  for (const oldest of map.keys()) {
    if (map.size <= max) break;
    map.delete(oldest);
  }
}
