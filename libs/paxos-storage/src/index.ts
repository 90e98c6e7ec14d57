export { FilePaxosStorage, type OpenedPaxosStorage, type RecoveryReport } from './lib/file-paxos-storage';
// Re-exported so a caller of FilePaxosStorage.open can catch what it throws without a second import.
export { StorageCorruptionError } from '@bulwark/durable-log';
export { defaultStorageLimits, type FilePaxosStorageOptions } from './lib/storage-limits';
