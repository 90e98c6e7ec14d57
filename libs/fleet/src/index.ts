export * from './lib/compose/compose-error';
export * from './lib/compose/compose-model';
export * from './lib/compose/parse-compose';
export * from './lib/compose/read-compose-file';
export * from './lib/launcher/run-launcher';
export * from './lib/plan/address-plan';
export * from './lib/plan/fleet-plan';
export * from './lib/plan/plan-model';
export {
  FleetNotReadyError,
  launchFleet,
  type Fleet,
  type FleetService,
  type LaunchOptions,
} from './lib/runtime/fleet';
export * from './lib/runtime/fleet-events';
export { findProgramsOnPath } from './lib/runtime/find-program';
export * from './lib/runtime/launch-compose-file';
export { PortInUseError } from './lib/runtime/port-forwarder';
export * from './lib/runtime/process-scan';
export { fleetIdVariable } from './lib/runtime/service-supervisor';
