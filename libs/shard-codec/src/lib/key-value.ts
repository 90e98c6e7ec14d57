import type { kvV1 } from '@bulwark/contracts';
import type { KeyValue } from '@bulwark/kv-state';
import { bufferOf } from './text';

/** kv.v1's KeyValue of a stored key; the value is shared with the state, not copied (encoding only reads it). */
export function toKeyValue(kv: KeyValue): kvV1.KeyValue {
  return { key: kv.key, value: bufferOf(kv.value), version: kv.version, modSequence: kv.modSequence };
}
