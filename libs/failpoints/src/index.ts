export {
  failpointCatalog,
  failpointNames,
  failpointsOf,
  isFailpointName,
  type BugFailpointName,
  type FailedSyscall,
  type FailpointDeclaration,
  type FailpointKind,
  type FailpointName,
  type FailpointService,
  type PassFailpointName,
} from './lib/catalog';
export {
  countMax,
  formatFailpointSpec,
  injectedErrorCodes,
  parseFailpointList,
  parseFailpointSetting,
  parseFailpointSpec,
  sleepMsMax,
  type FailpointAction,
  type FailpointSetting,
  type FailpointSpec,
  type InjectedErrorCode,
} from './lib/spec';
export { crashProcess, onPowerLoss, simulatePowerLoss, type CrashAction } from './lib/crash';
export { failpoints, FailpointRegistry, type FailpointRegistryOptions, type FailpointState } from './lib/registry';
export {
  failpointSettings,
  failpointsAddressVariable,
  failpointsVariable,
  type FailpointSettings,
} from './lib/settings';
export {
  failpointsPath,
  startFailpointControl,
  termBytesMax,
  type FailpointControl,
  type FailpointControlOptions,
} from './lib/control-server';
