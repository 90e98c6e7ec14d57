export * from './lib/apply-topology-events';
export * from './lib/coordinator-caller';
export * from './lib/coordinator-clients';
export * from './lib/member-roles';
export * from './lib/register-member';
export * from './lib/register-in-background';
export * from './lib/topology-watcher';
export * from './lib/topology-ring';
