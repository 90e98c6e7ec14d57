export { FilePaxosStorage, type OpenedPaxosStorage, type RecoveryReport } from './lib/file-paxos-storage';
export { StorageCorruptionError } from './lib/storage-corruption-error';
export { defaultStorageLimits, type FilePaxosStorageOptions } from './lib/storage-limits';
