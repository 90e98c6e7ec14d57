export * from './lib/availability-ledger';
export * from './lib/member-health';
