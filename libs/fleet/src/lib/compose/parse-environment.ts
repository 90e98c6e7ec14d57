import type { FieldFailure } from './compose-error';
import { isYamlMap } from './yaml-values';

const variableName = /^[^=\0]+$/;

/**
 * `environment` in map form (`NAME: value`) or list form (`- NAME=value`).
 * Numbers and booleans become strings as in compose; a name without a value
 * (`NAME:` or `- NAME`) is null: it is taken from the launcher's environment.
 */
export function parseEnvironment(raw: unknown, fail: FieldFailure): Record<string, string | null> {
  if (raw === undefined || raw === null) return {};
  const environment: Record<string, string | null> = {};
  const add = (name: string, value: string | null, field: string) => {
    if (!variableName.test(name)) fail(field, `"${name}" is not a variable name`);
    if (Object.hasOwn(environment, name)) fail(field, `${name} is set twice`);
    environment[name] = value;
  };
  if (Array.isArray(raw)) {
    raw.forEach((item, index) => {
      const field = `environment[${index}]`;
      if (typeof item !== 'string') return fail(field, 'must be a string NAME=value');
      const equals = item.indexOf('=');
      if (equals === -1) add(item, null, field);
      else add(item.slice(0, equals), item.slice(equals + 1), field);
    });
    return environment;
  }
  if (!isYamlMap(raw)) return fail('environment', 'must be a map of NAME: value or a list of NAME=value');
  for (const [name, value] of Object.entries(raw)) {
    const field = `environment.${name}`;
    if (value === null) add(name, null, field);
    else if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') {
      add(name, String(value), field);
    } else fail(field, 'must be a string, a number, a boolean or empty');
  }
  return environment;
}
