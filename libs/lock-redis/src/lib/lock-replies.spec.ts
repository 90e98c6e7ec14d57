import {
  parseDoneReply,
  parseEnqueueReply,
  parseGrantReply,
  parseInspectReply,
  parseRefreshReply,
  UnexpectedReplyError,
} from './lock-replies';

describe('parseInspectReply', () => {
  it('reads a free lock, a held one, and one with waiters', () => {
    expect(parseInspectReply(['0', '0', [0], []])).toEqual({
      fence: 0n,
      ticket: 0n,
      holder: undefined,
      queue: { head: undefined, length: 0 },
    });
    expect(
      parseInspectReply([
        '18446744073709551615',
        '9007199254740991',
        [2, 'w:1'],
        ['18446744073709551615:q1.1:a:b', 250],
      ]),
    ).toEqual({
      fence: 18446744073709551615n,
      ticket: 9007199254740991n,
      holder: { owner: 'a:b', token: 18446744073709551615n, attempt: 'q1.1', remainingTtlMs: 250 },
      queue: { head: 'w:1', length: 2 },
    });
  });

  it.each([
    ['not an array', 'OK'],
    ['empty', []],
    ['the old shape', ['1', '1:a', 10]],
    ['a fence that is a number', [1, '0', [0], []]],
    ['a fence that is not a token', ['-1', '0', [0], []]],
    ['a ticket counter past 2^53 - 1', ['0', '9007199254740992', [0], []]],
    ['a ticket counter that is not canonical', ['0', '01', [0], []]],
    ['a queue that is not an array', ['0', '0', 0, []]],
    ['a queue length that is a string', ['0', '0', ['1', 'w'], []]],
    ['a negative queue length', ['0', '0', [-1], []]],
    ['a queue with waiters and no head', ['0', '0', [1], []]],
    ['an empty queue with a head', ['0', '0', [0, 'w'], []]],
    ['an empty head', ['0', '0', [1, ''], []]],
    ['a holder part of one element', ['0', '0', [0], ['1:a']]],
    ['a holder without separator', ['1', '0', [0], ['alice', 10]]],
    ['a holder with a bad token', ['1', '0', [0], ['x:q1.1:alice', 10]]],
    ['a holder without an attempt (token:owner)', ['1', '0', [0], ['1:alice', 10]]],
    ['a holder with an empty attempt', ['1', '0', [0], ['1::alice', 10]]],
    ['a holder without TTL', ['1', '0', [0], ['1:q1.1:alice', -1]]],
    ['a TTL that is a string', ['1', '0', [0], ['1:q1.1:alice', '10']]],
    ['a fractional TTL', ['1', '0', [0], ['1:q1.1:alice', 1.5]]],
  ])('refuses %s', (_, reply) => {
    expect(() => parseInspectReply(reply)).toThrow(UnexpectedReplyError);
  });
});

describe('parseGrantReply', () => {
  it('reads each outcome', () => {
    expect(parseGrantReply(['granted'])).toEqual({ outcome: 'granted' });
    expect(parseGrantReply(['stale', '9007199254740993'])).toEqual({ outcome: 'stale', fence: 9007199254740993n });
    expect(parseGrantReply(['queued', '3', 'w-a'])).toEqual({ outcome: 'queued', fence: 3n, head: 'w-a' });
    expect(parseGrantReply(['held', '8', '7:lock-1.x.2:bob', 0])).toEqual({
      outcome: 'held',
      fence: 8n,
      holder: { owner: 'bob', token: 7n, attempt: 'lock-1.x.2', remainingTtlMs: 0 },
    });
  });

  it.each([
    ['an unknown outcome', ['ok']],
    ['granted with fields', ['granted', '1']],
    ['stale without fence', ['stale']],
    ['stale with a bad fence', ['stale', '01']],
    ['queued without head', ['queued', '3']],
    ['queued with an empty head', ['queued', '3', '']],
    ['queued with a head that is a number', ['queued', '3', 7]],
    ['held without holder', ['held', '8']],
    ['held with a bad holder', ['held', '8', 'bob', 10]],
    ['held with a holder of the old shape', ['held', '8', '7:bob', 10]],
    ['null', null],
  ])('refuses %s', (_, reply) => {
    expect(() => parseGrantReply(reply)).toThrow(UnexpectedReplyError);
  });
});

describe('parseEnqueueReply', () => {
  it("reads the waiter's ticket, the head and whether the lock is held", () => {
    expect(parseEnqueueReply(['1', 'w-a', 0])).toEqual({ outcome: 'queued', ticket: 1n, head: 'w-a', held: false });
    expect(parseEnqueueReply(['9007199254740991', 'w-b', 1])).toEqual({
      outcome: 'queued',
      ticket: 9007199254740991n,
      head: 'w-b',
      held: true,
    });
  });

  it('reads a handover to the claim, and a join refused at the counter', () => {
    expect(parseEnqueueReply(['handed', '12'])).toEqual({ outcome: 'handed', token: 12n });
    expect(parseEnqueueReply(['stale', '1796567433637001'])).toEqual({ outcome: 'stale', counter: 1796567433637001n });
  });

  it.each([
    ['handed without a token', ['handed', 'x']],
    ['stale past 2^53 - 1', ['stale', '9007199254740992']],
    ['two parts that are not handed', ['1', 'w-a']],
    ['not an array', 1],
    ['two elements', ['1', 'w']],
    ['ticket 0', ['0', 'w', 0]],
    ['a fractional ticket (a score not written as a ticket)', ['1.5', 'w', 0]],
    ['a ticket in exponent form', ['1e+16', 'w', 0]],
    ['a ticket past 2^53 - 1', ['9007199254740992', 'w', 0]],
    ['a ticket that is a number', [1, 'w', 0]],
    ['no head', ['1', false, 0]],
    ['held that is not 0 or 1', ['1', 'w', 2]],
  ])('refuses %s', (_, reply) => {
    expect(() => parseEnqueueReply(reply)).toThrow(UnexpectedReplyError);
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

describe('parseRefreshReply', () => {
  it("reads the holder's attempt as refreshed and 0 as not the holder", () => {
    expect(parseRefreshReply('lock-1.x.9')).toBe('lock-1.x.9');
    expect(parseRefreshReply(0)).toBeUndefined();
    // The reply's type tells them apart: attempt '0' is a bulk string, not the integer 0.
    expect(parseRefreshReply('0')).toBe('0');
  });

  it.each([[1], [''], ['a:b'], ['x'.repeat(65)], [['q1.1']], [null]])('refuses %j', (reply) => {
    expect(() => parseRefreshReply(reply)).toThrow(UnexpectedReplyError);
  });
});
