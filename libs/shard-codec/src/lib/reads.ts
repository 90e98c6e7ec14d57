// shard.v1 reads -> what the replica asks its KvState, and the answers back.
// Which member may answer (the consistency) is the runner's decision; this
// checks the request and says what it asked for.
import { type commonV1, kvV1, type shardV1 } from '@bulwark/contracts';
import { InvalidArgumentError } from '@bulwark/errors';
import {
  compareKeys,
  defaultKvLimits,
  type KeyValue,
  type KvLimits,
  type ScanPage,
  type ScanRequest,
} from '@bulwark/kv-state';
import { toKeyValue } from './key-value';
import { checkText } from './text';

export type ReadConsistency = 'strong' | 'bounded' | 'eventual';

/** Which member may answer a read, and for a bounded one how far behind the primary it may be (0 otherwise). */
export interface ReadConsistencyChoice {
  readonly consistency: ReadConsistency;
  readonly maxStalenessMs: number;
}

export interface GetQuery extends ReadConsistencyChoice {
  readonly key: string;
}

export interface ScanQuery extends ReadConsistencyChoice {
  /** What KvState.scan takes. */
  readonly scan: ScanRequest;
}

/** A page size of 0 asks for this many keys (kv.v1 and shard.v1 ScanRequest.limit). */
export const scanLimitDefault = 100;

/** A Get's key and consistency; throws InvalidArgumentError naming `request.key`, `request.consistency` or `request.max_staleness_ms`. */
export function getQuery(message: shardV1.GetRequest, limits: KvLimits = defaultKvLimits): GetQuery {
  const request = message?.request;
  if (request === undefined || request === null) throw new InvalidArgumentError('request', 'must be set');
  const key = checkText(request.key, 'request.key', limits.keyBytesMax, 'keyBytesMax');
  return { key, ...readConsistency(request.consistency, request.maxStalenessMs, 'request.') };
}

export function getResponse(kv: KeyValue | undefined, header: commonV1.ResponseHeader): shardV1.GetResponse {
  return { response: { header, found: kv !== undefined, kv: kv === undefined ? undefined : toKeyValue(kv) } };
}

/**
 * A Scan as KvState.scan's request: limit 0 means 100, over the limits'
 * scanLimitMax (1000) is refused; a start_key must start with a non-empty
 * prefix and end_key must come after a non-empty start_key (code point
 * order). Fields are top-level in shard.v1.ScanRequest: `limit`, `start_key`.
 */
export function scanQuery(request: shardV1.ScanRequest, limits: KvLimits = defaultKvLimits): ScanQuery {
  if (request === undefined || request === null) throw new InvalidArgumentError('request', 'must be set');
  const { prefix, startKey, endKey } = request;
  checkText(prefix, 'prefix', limits.keyBytesMax, 'keyBytesMax', true);
  checkText(startKey, 'start_key', limits.keyBytesMax, 'keyBytesMax', true);
  checkText(endKey, 'end_key', limits.keyBytesMax, 'keyBytesMax', true);
  const limit = request.limit === 0 ? Math.min(scanLimitDefault, limits.scanLimitMax) : request.limit;
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > limits.scanLimitMax) {
    throw new InvalidArgumentError(
      'limit',
      `must be 0 (for ${scanLimitDefault}) or 1 to ${limits.scanLimitMax}, got ${limit}`,
    );
  }
  if (prefix !== '' && startKey !== '' && !startKey.startsWith(prefix)) {
    throw new InvalidArgumentError('start_key', 'must start with prefix');
  }
  if (startKey !== '' && endKey !== '' && compareKeys(endKey, startKey) <= 0) {
    throw new InvalidArgumentError('end_key', 'must come after start_key');
  }
  const scan: ScanRequest = {
    limit,
    ...(prefix === '' ? {} : { prefix }),
    ...(startKey === '' ? {} : { startKey }),
    ...(endKey === '' ? {} : { endKey }),
  };
  return { scan, ...readConsistency(request.consistency, request.maxStalenessMs, '') };
}

export function scanResponse(page: ScanPage, header: commonV1.ResponseHeader): shardV1.ScanResponse {
  return { header, kvs: page.kvs.map(toKeyValue), nextStartKey: page.nextStartKey ?? '' };
}

/** UNSPECIFIED is STRONG; BOUNDED needs max_staleness_ms above 0, which is ignored (0) for the others. */
function readConsistency(consistency: kvV1.Consistency, maxStalenessMs: number, prefix: string): ReadConsistencyChoice {
  switch (consistency) {
    case kvV1.Consistency.CONSISTENCY_UNSPECIFIED:
    case kvV1.Consistency.CONSISTENCY_STRONG:
      return { consistency: 'strong', maxStalenessMs: 0 };
    case kvV1.Consistency.CONSISTENCY_EVENTUAL:
      return { consistency: 'eventual', maxStalenessMs: 0 };
    case kvV1.Consistency.CONSISTENCY_BOUNDED:
      if (!Number.isSafeInteger(maxStalenessMs) || maxStalenessMs < 1) {
        throw new InvalidArgumentError(`${prefix}max_staleness_ms`, 'must be above 0 for CONSISTENCY_BOUNDED');
      }
      return { consistency: 'bounded', maxStalenessMs };
    default:
      throw new InvalidArgumentError(`${prefix}consistency`, `has unknown value ${String(consistency)}`);
  }
}
