export { KvState } from './lib/kv-state';
export { defaultKvLimits, kvLimits, requestIdBytesMax, type KvLimits } from './lib/limits';
export { KvSnapshotError } from './lib/snapshot-error';
export { snapshotChunkBytes, snapshotFormatVersion } from './lib/snapshot';
export type { RememberedRequest } from './lib/dedupe-table';
export { compareKeys, utf8Length } from './lib/keys';
export type {
  Command,
  CommandBody,
  Compare,
  Fence,
  KeyRevision,
  KeyValue,
  NoopOutcome,
  Op,
  Outcome,
  RefusalCode,
  RefusedOutcome,
  ScanPage,
  ScanRequest,
  TxnOutcome,
  WrittenOutcome,
} from './lib/types';
