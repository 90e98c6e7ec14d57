/** One replica group as the shard map lists it. */
export interface GroupSpec {
  /** The group's id, 1 to groupIdLengthMax characters, unique in its list. */
  readonly id: string;
  /** Relative capacity, an integer from weightMin to weightMax; only the hash ring uses it. */
  readonly weight: number;
}

/** The groups a partitioner spreads keys over, at one version of the shard map. */
export interface GroupList {
  /** Increases on every change of the list (uint64, as the coordinator stores it). */
  readonly version: bigint;
  readonly groups: readonly GroupSpec[];
}

/** Maps every key to exactly one group. Implementations are immutable: a new version is a new partitioner. */
export interface Partitioner {
  /** The version of the group list (or range layout) this partitioner was built from. */
  readonly version: bigint;
  /** The ids of its groups in code point order. */
  readonly groupIds: readonly string[];
  /** The id of the group that owns key. */
  lookup(key: string): string;
}
