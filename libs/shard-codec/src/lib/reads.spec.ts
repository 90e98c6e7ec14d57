import { kvV1 } from '@bulwark/contracts';
import { expectInvalidArgument } from '@bulwark/errors/testing';
import { kvLimits, KvState } from '@bulwark/kv-state';
import { getRequest, putRequest, responseHeader, scanRequest } from '../testing';
import { getQuery, getResponse, scanQuery, scanResponse } from './reads';
import { putCommand } from './write-requests';

const { Consistency } = kvV1;
const header = responseHeader(4n);
const undefinedEnum = (value: number) => value as never;

describe('getQuery', () => {
  it('reads UNSPECIFIED as strong and ignores max_staleness_ms off BOUNDED', () => {
    expect(getQuery(getRequest({ key: 'k' }))).toEqual({ key: 'k', consistency: 'strong', maxStalenessMs: 0 });
    expect(getQuery(getRequest({ consistency: Consistency.CONSISTENCY_STRONG, maxStalenessMs: 50 }))).toEqual({
      key: 'a',
      consistency: 'strong',
      maxStalenessMs: 0,
    });
    expect(getQuery(getRequest({ consistency: Consistency.CONSISTENCY_EVENTUAL }))).toMatchObject({
      consistency: 'eventual',
    });
    expect(getQuery(getRequest({ consistency: Consistency.CONSISTENCY_BOUNDED, maxStalenessMs: 250 }))).toEqual({
      key: 'a',
      consistency: 'bounded',
      maxStalenessMs: 250,
    });
  });

  it('needs max_staleness_ms above 0 for BOUNDED', () => {
    expectInvalidArgument(
      () => getQuery(getRequest({ consistency: Consistency.CONSISTENCY_BOUNDED })),
      'request.max_staleness_ms',
    );
  });

  it('refuses an unknown consistency, a missing request and a bad key', () => {
    expectInvalidArgument(() => getQuery(getRequest({ consistency: undefinedEnum(9) })), 'request.consistency');
    expectInvalidArgument(() => getQuery(getRequest({ consistency: Consistency.UNRECOGNIZED })), 'request.consistency');
    expectInvalidArgument(() => getQuery({ groupId: 'g1', request: undefined }), 'request');
    expectInvalidArgument(() => getQuery(getRequest({ key: '' })), 'request.key');
    expectInvalidArgument(() => getQuery(getRequest({ key: 'k'.repeat(1025) })), 'request.key');
    expectInvalidArgument(() => getQuery(getRequest({ key: 'abc' }), kvLimits({ keyBytesMax: 2 })), 'request.key');
    expectInvalidArgument(() => getQuery(getRequest({ key: '\ud800' })), 'request.key');
  });
});

describe('getResponse', () => {
  it('answers found with the key as kv.v1 has it, or not found', () => {
    const state = new KvState();
    state.apply(3n, putCommand(putRequest({ key: 'k', value: Buffer.from('v') }), state.limits, 1n).command);
    expect(getResponse(state.get('k'), header)).toEqual({
      response: { header, found: true, kv: { key: 'k', value: Buffer.from('v'), version: 1n, modSequence: 3n } },
    });
    expect(getResponse(undefined, header)).toEqual({ response: { header, found: false, kv: undefined } });
  });
});

describe('scanQuery', () => {
  it('maps an empty request to a strong scan of 100 keys from the start', () => {
    expect(scanQuery(scanRequest())).toEqual({ scan: { limit: 100 }, consistency: 'strong', maxStalenessMs: 0 });
  });

  it('passes prefix, start and end keys and the limit', () => {
    expect(
      scanQuery(
        scanRequest({
          prefix: 'user/',
          startKey: 'user/b',
          endKey: 'user/d',
          limit: 1000,
          consistency: Consistency.CONSISTENCY_BOUNDED,
          maxStalenessMs: 10,
        }),
      ),
    ).toEqual({
      scan: { prefix: 'user/', startKey: 'user/b', endKey: 'user/d', limit: 1000 },
      consistency: 'bounded',
      maxStalenessMs: 10,
    });
  });

  it('refuses a limit over scanLimitMax', () => {
    expectInvalidArgument(() => scanQuery(scanRequest({ limit: 1001 })), 'limit');
    expectInvalidArgument(() => scanQuery(scanRequest({ limit: 11 }), kvLimits({ scanLimitMax: 10 })), 'limit');
    expect(scanQuery(scanRequest({ limit: 1 })).scan.limit).toBe(1);
    expect(scanQuery(scanRequest(), kvLimits({ scanLimitMax: 10 })).scan.limit).toBe(10);
  });

  it('refuses a start_key outside the prefix', () => {
    expectInvalidArgument(() => scanQuery(scanRequest({ prefix: 'b/', startKey: 'a' })), 'start_key');
    expectInvalidArgument(() => scanQuery(scanRequest({ prefix: 'b/', startKey: 'b' })), 'start_key');
    expect(scanQuery(scanRequest({ prefix: 'b/', startKey: 'b/' })).scan).toEqual({
      prefix: 'b/',
      startKey: 'b/',
      limit: 100,
    });
  });

  it('refuses an end_key not after start_key, in code point order', () => {
    expectInvalidArgument(() => scanQuery(scanRequest({ startKey: 'b', endKey: 'b' })), 'end_key');
    expectInvalidArgument(() => scanQuery(scanRequest({ startKey: 'b', endKey: 'a' })), 'end_key');
    // U+1F600 is above U+FF5E in code point order, below it in UTF-16 order.
    expect(scanQuery(scanRequest({ startKey: '\uff5e', endKey: '😀' })).scan.endKey).toBe('😀');
    expectInvalidArgument(() => scanQuery(scanRequest({ startKey: '😀', endKey: '\uff5e' })), 'end_key');
    expect(scanQuery(scanRequest({ endKey: 'a' })).scan).toEqual({ endKey: 'a', limit: 100 });
  });

  it('refuses BOUNDED without max_staleness_ms, an unknown consistency and malformed keys', () => {
    expectInvalidArgument(
      () => scanQuery(scanRequest({ consistency: Consistency.CONSISTENCY_BOUNDED })),
      'max_staleness_ms',
    );
    expectInvalidArgument(() => scanQuery(scanRequest({ consistency: undefinedEnum(4) })), 'consistency');
    expectInvalidArgument(() => scanQuery(scanRequest({ prefix: 'a\ud800' })), 'prefix');
    expectInvalidArgument(() => scanQuery(scanRequest({ startKey: 'k'.repeat(1025) })), 'start_key');
    expectInvalidArgument(() => scanQuery(scanRequest({ endKey: '\udc00' })), 'end_key');
    expectInvalidArgument(() => scanQuery(undefined as never), 'request');
  });

  it('gives what KvState.scan takes', () => {
    const state = new KvState();
    let sequence = 0n;
    for (const key of ['a/1', 'a/2', 'a/3', 'b/1']) {
      state.apply(++sequence, putCommand(putRequest({ key }), state.limits, 1n).command);
    }
    const first = state.scan(scanQuery(scanRequest({ prefix: 'a/', limit: 2 })).scan);
    expect(first.kvs.map((kv) => kv.key)).toEqual(['a/1', 'a/2']);
    const response = scanResponse(first, header);
    expect(response.nextStartKey).toBe('a/3');
    const second = state.scan(scanQuery(scanRequest({ prefix: 'a/', startKey: response.nextStartKey, limit: 2 })).scan);
    expect(scanResponse(second, header)).toEqual({
      header,
      kvs: [{ key: 'a/3', value: Buffer.from('x'), version: 1n, modSequence: 3n }],
      nextStartKey: '',
    });
  });
});
