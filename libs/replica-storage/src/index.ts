export { FileReplicaStorage, type OpenedReplicaStorage, type RecoveryReport } from './lib/file-replica-storage';
export type {
  EpochStart,
  KeepEntries,
  LogEntry,
  PersistBatch,
  RecoveredReplicaState,
  ReplicaStorage,
  SaveSnapshotOptions,
  SnapshotChunks,
  SnapshotMeta,
  SnapshotPoint,
  StoredSnapshot,
} from './lib/replica-types';
export { StorageCorruptionError } from '@bulwark/durable-log';
export {
  defaultReplicaStorageLimits,
  type FileReplicaStorageOptions,
  type ReplicaStorageLimits,
  type WalSync,
} from './lib/storage-limits';
export type { StorageIo } from './lib/storage-io';
