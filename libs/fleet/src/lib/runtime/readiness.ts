// Whether services are ready: healthy, or running when they have no healthcheck.
import type { ServiceState } from './fleet-events';

export type Readiness =
  | { kind: 'ready' }
  | { kind: 'waiting'; names: string[] }
  /** Some will not get there without a start(): stopped on request or left down by their restart policy. */
  | { kind: 'failed'; names: string[] };

const readyStates: ReadonlySet<ServiceState> = new Set(['healthy', 'running']);
const downStates: ReadonlySet<ServiceState> = new Set(['exited', 'stopped']);

export function readinessOf(services: ReadonlyArray<{ name: string; state: ServiceState }>): Readiness {
  const down = services.filter((service) => downStates.has(service.state));
  if (down.length > 0) return { kind: 'failed', names: down.map((service) => service.name) };
  const waiting = services.filter((service) => !readyStates.has(service.state));
  if (waiting.length > 0) return { kind: 'waiting', names: waiting.map((service) => service.name) };
  return { kind: 'ready' };
}
