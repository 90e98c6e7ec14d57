/** A snapshot that cannot be restored: corrupt, truncated, or beyond the limits. Nothing was restored. */
export class KvSnapshotError extends Error {
  constructor(message: string) {
    super(`kv snapshot: ${message}`);
    this.name = 'KvSnapshotError';
  }
}
