export * from './lib/canaries';
export * from './lib/series-sampler';
export * from './lib/ledger-file';
export * from './lib/member-prober';
export * from './lib/monitor';
export * from './lib/monitor-node';
export * from './lib/monitor-service';
