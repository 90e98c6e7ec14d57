// The environment a service's process gets: the compose environment
// (rewritten), plus PATH and HOME so programs can be found, plus the user's
// OTEL_* settings. Nothing else leaks from the launcher's environment (no
// NODE_OPTIONS, no npm_*), so a process sees what its container would.
import type { ProcessService } from '../compose/compose-model';
import type { SkippedReference } from './plan-model';
import type { HostRewrite } from './rewrite-hosts';

const inheritedVariables = ['PATH', 'HOME'];
/** The user's OTEL_* win over the file's: they point services at a local collector or turn tracing off. */
const userOverridePrefix = 'OTEL_';

export interface ChildEnvironment {
  environment: Record<string, string>;
  references: SkippedReference[];
  ownPorts: number[];
}

export function childEnvironment(
  service: ProcessService,
  rewrite: (value: string) => HostRewrite,
  userEnvironment: Readonly<Record<string, string | undefined>>,
): ChildEnvironment {
  const environment: Record<string, string> = {};
  const references: SkippedReference[] = [];
  const ownPorts: number[] = [];
  for (const name of inheritedVariables) {
    const value = userEnvironment[name];
    if (value !== undefined) environment[name] = value;
  }
  for (const [name, declared] of Object.entries(service.environment)) {
    const userValue = userEnvironment[name];
    if (declared === null) {
      // `NAME` without a value: the user's value as is, already in the launcher's terms.
      if (userValue !== undefined) environment[name] = userValue;
      continue;
    }
    const rewritten = rewrite(declared);
    ownPorts.push(...rewritten.ownPorts);
    const skippedService = rewritten.skippedServices[0];
    if (skippedService === undefined) {
      environment[name] = rewritten.value;
      continue;
    }
    const field = `environment.${name}`;
    if (userValue === undefined) {
      references.push({ service: service.name, field, skippedService, outcome: 'dropped' });
      delete environment[name];
    } else {
      references.push({
        service: service.name,
        field,
        skippedService,
        outcome: 'replaced by the launcher environment',
      });
      environment[name] = userValue;
    }
  }
  for (const [name, value] of Object.entries(userEnvironment)) {
    if (name.startsWith(userOverridePrefix) && value !== undefined) environment[name] = value;
  }
  return { environment, references, ownPorts };
}
