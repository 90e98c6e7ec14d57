import type { ChaosOperation } from '@bulwark/chaos-history';
import type { OperationClass } from './figures';

export function operationClassOf(operation: ChaosOperation): OperationClass {
  switch (operation.kind) {
    case 'get':
      return 'read';
    case 'put':
    case 'delete':
    case 'cas':
    case 'txn':
      return 'write';
    case 'lock-acquire':
    case 'lock-release':
      return 'lock';
  }
}

/** The latency of an operation that completed (ok or fail). */
export function latencyMsOf(operation: ChaosOperation): number {
  return (operation.completedMs as number) - operation.invokedMs;
}
