// Compose durations ("15s", "1m30s", "500ms"): a sequence of number+unit.
import type { FieldFailure } from './compose-error';

const unitMs: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1, us: 0.001, ns: 0.000_001 };
const part = /(\d+(?:\.\d+)?)(h|ms|m|s|us|ns)/y;

/** Milliseconds (rounded up, so a nonzero duration never becomes 0), or undefined if malformed. */
export function parseDurationMs(raw: string): number | undefined {
  let totalMs = 0;
  part.lastIndex = 0;
  while (part.lastIndex < raw.length) {
    const match = part.exec(raw);
    if (!match) return undefined;
    totalMs += Number(match[1]) * (unitMs[match[2] as string] as number);
  }
  return raw.length === 0 ? undefined : Math.ceil(totalMs);
}

/** An optional duration field of a service; undefined when absent. */
export function parseDurationField(raw: unknown, field: string, fail: FieldFailure): number | undefined {
  if (raw === undefined || raw === null) return undefined;
  const ms = typeof raw === 'string' ? parseDurationMs(raw) : undefined;
  return ms ?? fail(field, `must be a duration such as "3s" or "1m30s", got ${JSON.stringify(raw)}`);
}
