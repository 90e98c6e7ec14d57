import type { FieldFailure } from './compose-error';
import type { Healthcheck } from './compose-model';
import { parseDurationField } from './parse-duration';
import { isStringList, isYamlMap } from './yaml-values';

const defaultTimeoutMs = 30_000;

/** The argv of `test`: CMD as is, CMD-SHELL and the string form through /bin/sh; undefined for NONE. */
function testArgv(raw: unknown, fail: FieldFailure): string[] | undefined {
  if (typeof raw === 'string') return ['/bin/sh', '-c', raw];
  if (!isStringList(raw) || raw.length === 0) return fail('healthcheck.test', 'must be a list of strings or a string');
  const [form, ...rest] = raw;
  if (form === 'NONE') return undefined;
  if (form === 'CMD' && rest.length > 0) return rest;
  if (form === 'CMD-SHELL' && rest.length === 1) return ['/bin/sh', '-c', rest[0] as string];
  return fail('healthcheck.test', 'must be ["CMD", program, args...], ["CMD-SHELL", "command"] or ["NONE"]');
}

/**
 * `healthcheck`. Only `test`, `timeout` and `start_interval` matter to the
 * launcher: it probes until the service is healthy and then stops probing,
 * so `interval`, `retries` and `start_period` (steady-state settings) do not apply.
 */
export function parseHealthcheck(raw: unknown, fail: FieldFailure): Healthcheck | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (!isYamlMap(raw)) return fail('healthcheck', 'must be a map');
  if (raw.disable === true) return undefined;
  if (raw.test === undefined) return fail('healthcheck.test', 'is required (the image defines no HEALTHCHECK)');
  const argv = testArgv(raw.test, fail);
  if (argv === undefined) return undefined;
  const healthcheck: Healthcheck = {
    argv,
    timeoutMs: parseDurationField(raw.timeout, 'healthcheck.timeout', fail) ?? defaultTimeoutMs,
  };
  const startIntervalMs = parseDurationField(raw.start_interval, 'healthcheck.start_interval', fail);
  if (startIntervalMs !== undefined) healthcheck.startIntervalMs = startIntervalMs;
  return healthcheck;
}
