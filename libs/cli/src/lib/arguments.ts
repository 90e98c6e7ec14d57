// Parsers for command-line values. Each throws an Error saying what the
// value must be; the program turns it into a usage error naming the option
// or argument (and the environment variable it came from, if it did).
import { formatHostPort, parseHostPort } from '@bulwark/config';

const uint64Max = 2n ** 64n - 1n;

/** A comma-separated list of host:port, at least one, duplicates dropped. */
export function parseEndpoints(raw: string): string[] {
  const items = raw
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
  if (items.length === 0) throw new Error('must list at least one host:port');
  return [
    ...new Set(
      items.map((item) => {
        const parsed = parseHostPort(item);
        if (typeof parsed === 'string') throw new Error(parsed);
        return formatHostPort(parsed);
      }),
    ),
  ];
}

/** One host:port. */
export function parseEndpoint(raw: string): string {
  const parsed = parseHostPort(raw.trim());
  if (typeof parsed === 'string') throw new Error(parsed);
  return formatHostPort(parsed);
}

const durationUnitsMs: Readonly<Record<string, number>> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };

/** A duration: a whole number of ms, or with a unit (500ms, 30s, 2m, 1h). */
export function parseDurationMs(raw: string): number {
  const match = /^(\d+)(ms|s|m|h)?$/.exec(raw.trim());
  if (!match) throw new Error(`must be a duration such as 1500, 500ms, 30s or 2m, got "${raw}"`);
  const ms = Number(match[1]) * (durationUnitsMs[match[2] ?? 'ms'] as number);
  if (!Number.isSafeInteger(ms)) throw new Error(`is too long: "${raw}"`);
  return ms;
}

/** The longest duration a 32-bit ms field of the contracts holds (a TTL, a wait, a staleness bound). */
export const uint32MsMax = 2 ** 32 - 1;

/** A duration above 0, at most maxMs. */
export function parsePositiveDurationMs(raw: string, maxMs = Number.MAX_SAFE_INTEGER): number {
  const ms = parseBoundedDurationMs(raw, maxMs);
  if (ms === 0) throw new Error('must be above 0');
  return ms;
}

/** A duration of at most maxMs. */
export function parseBoundedDurationMs(raw: string, maxMs: number): number {
  const ms = parseDurationMs(raw);
  if (ms > maxMs) throw new Error(`must be at most ${maxMs} ms, got ${raw}`);
  return ms;
}

/** A whole number from 1 to max. */
export function parseCount(raw: string, max = Number.MAX_SAFE_INTEGER): number {
  if (!/^\d+$/.test(raw.trim())) throw new Error(`must be a whole number, got "${raw}"`);
  const value = Number(raw);
  if (value < 1 || value > max) throw new Error(`must be from 1 to ${max}, got ${raw}`);
  return value;
}

/** A 64-bit unsigned number (a version, a fencing token, an epoch), as a bigint: never through a lossy number. */
export function parseUint64(raw: string): bigint {
  if (!/^\d+$/.test(raw.trim())) throw new Error(`must be a whole number, got "${raw}"`);
  const value = BigInt(raw.trim());
  if (value > uint64Max) throw new Error(`must be at most 2^64-1, got ${raw}`);
  return value;
}
