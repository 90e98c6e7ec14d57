import { parseDoneReply, parseGrantReply, parseInspectReply, UnexpectedReplyError } from './lock-replies';

describe('parseInspectReply', () => {
  it('reads a free lock and a held one', () => {
    expect(parseInspectReply(['0'])).toEqual({ fence: 0n, holder: undefined });
    expect(parseInspectReply(['18446744073709551615', '18446744073709551615:a:b', 250])).toEqual({
      fence: 18446744073709551615n,
      holder: { owner: 'a:b', token: 18446744073709551615n, remainingTtlMs: 250 },
    });
  });

  it.each([
    ['not an array', 'OK'],
    ['empty', []],
    ['two elements', ['1', '1:a']],
    ['a fence that is a number', [1]],
    ['a fence that is not a token', ['-1']],
    ['a holder without separator', ['1', 'alice', 10]],
    ['a holder with a bad token', ['1', 'x:alice', 10]],
    ['a holder without TTL', ['1', '1:alice', -1]],
    ['a TTL that is a string', ['1', '1:alice', '10']],
    ['a fractional TTL', ['1', '1:alice', 1.5]],
  ])('refuses %s', (_, reply) => {
    expect(() => parseInspectReply(reply)).toThrow(UnexpectedReplyError);
  });
});

describe('parseGrantReply', () => {
  it('reads each outcome', () => {
    expect(parseGrantReply(['granted'])).toEqual({ outcome: 'granted' });
    expect(parseGrantReply(['stale', '9007199254740993'])).toEqual({ outcome: 'stale', fence: 9007199254740993n });
    expect(parseGrantReply(['held', '8', '7:bob', 0])).toEqual({
      outcome: 'held',
      fence: 8n,
      holder: { owner: 'bob', token: 7n, remainingTtlMs: 0 },
    });
  });

  it.each([
    ['an unknown outcome', ['ok']],
    ['granted with fields', ['granted', '1']],
    ['stale without fence', ['stale']],
    ['stale with a bad fence', ['stale', '01']],
    ['held without holder', ['held', '8']],
    ['held with a bad holder', ['held', '8', 'bob', 10]],
    ['null', null],
  ])('refuses %s', (_, reply) => {
    expect(() => parseGrantReply(reply)).toThrow(UnexpectedReplyError);
  });
});

describe('parseDoneReply', () => {
  it('reads 1 as done and 0 as not the holder', () => {
    expect(parseDoneReply(1)).toBe(true);
    expect(parseDoneReply(0)).toBe(false);
  });

  it.each([['OK'], ['1'], [2], [[1]], [null]])('refuses %j', (reply) => {
    expect(() => parseDoneReply(reply)).toThrow(UnexpectedReplyError);
  });
});
