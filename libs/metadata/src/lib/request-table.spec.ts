import { InvalidArgumentError } from '@bulwark/errors';
import { estimatedBytes, RequestTable } from './request-table';

const fingerprint = 'f'.repeat(64);

function remembered(id: string, payloadBytes: number) {
  return {
    id,
    fingerprint,
    revision: 1n,
    result: { ok: true as const, value: { groupId: 'x'.repeat(payloadBytes) } },
  };
}

describe('RequestTable', () => {
  it('forgets the oldest requests beyond its byte bound, so large outcomes cannot grow it (or a snapshot) without end', () => {
    const table = new RequestTable(10_000, 1_000_000);
    for (let index = 0; index < 100; index++) table.remember(remembered(`r-${index}`, 70_000));
    expect(table.estimatedBytes).toBeLessThanOrEqual(1_000_000);
    expect(table.size).toBeLessThan(15);
    expect(table.get('r-99')).toBeDefined();
    expect(table.get('r-0')).toBeUndefined();
    // Oldest first: what is kept is the newest run.
    const kept = table.list().map((request) => request.id);
    expect(kept).toEqual(Array.from({ length: kept.length }, (_, index) => `r-${100 - kept.length + index}`));
  });

  it('forgets the oldest beyond its count bound', () => {
    const table = new RequestTable(3);
    for (const id of ['a', 'b', 'c', 'd']) table.remember(remembered(id, 1));
    expect(table.list().map((request) => request.id)).toEqual(['b', 'c', 'd']);
  });

  it('keeps the newest request even when it alone exceeds the byte bound', () => {
    const table = new RequestTable(10, 100);
    table.remember(remembered('small', 1));
    table.remember(remembered('huge', 1_000));
    expect(table.list().map((request) => request.id)).toEqual(['huge']);
  });

  it('estimates an error by its message and details, the same for equal values', () => {
    const error = new InvalidArgumentError('member.id', 'x'.repeat(500));
    expect(estimatedBytes(error)).toBeGreaterThan(500);
    expect(estimatedBytes(new InvalidArgumentError('member.id', 'x'.repeat(500)))).toBe(estimatedBytes(error));
    expect(estimatedBytes({ a: [1n, 'bc'] })).toBe(estimatedBytes({ a: [2n, 'de'] }));
  });
});
