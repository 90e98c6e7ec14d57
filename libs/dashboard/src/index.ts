export * from './lib/dashboard-snapshot';
export * from './lib/dashboard-server';
export type { SnapshotStreamLimits } from './lib/snapshot-streams';
