export * from './lib/compose/compose-error';
export * from './lib/compose/compose-model';
export * from './lib/compose/parse-compose';
export * from './lib/compose/read-compose-file';
export * from './lib/plan/address-plan';
export * from './lib/plan/fleet-plan';
export * from './lib/plan/plan-model';
