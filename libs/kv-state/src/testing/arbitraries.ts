// fast-check arbitraries of valid commands over a small universe of keys,
// lock names and request ids, so that histories collide: the same key
// written, compared and deleted, the same request id retried, the same lock
// fenced by older and newer tokens.
import fc from 'fast-check';
import type { Command, Compare, Fence, Op } from '../lib/types';

/** ASCII keys sharing prefixes, plus keys whose UTF-16 and code point orders differ. */
export const keyArbitrary = fc.constantFrom(
  'a',
  'ab',
  'abc',
  'b',
  'ba',
  'c/1',
  'c/2',
  'c/10',
  '\u{ff5e}',
  '\u{1f600}',
  'é',
);

/** Mostly a few values (so value compares hold now and then), sometimes any short bytes. */
export const valueArbitrary = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom('', 'x', 'yy').map((text) => new TextEncoder().encode(text)) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 3 }) },
);

const versionArbitrary = fc.bigInt({ min: 0n, max: 4n });

function opArbitrary(withExpectedVersion: boolean): fc.Arbitrary<Op> {
  const expected = withExpectedVersion
    ? fc.option(versionArbitrary, { nil: undefined, freq: 3 })
    : fc.constant(undefined);
  return fc
    .oneof(
      { weight: 3, arbitrary: fc.tuple(keyArbitrary, valueArbitrary, expected) },
      { weight: 1, arbitrary: fc.tuple(keyArbitrary, fc.constant(undefined), expected) },
    )
    .map(([key, value, expectedVersion]): Op => {
      const base = value === undefined ? { type: 'delete' as const, key } : { type: 'put' as const, key, value };
      return expectedVersion === undefined ? base : { ...base, expectedVersion };
    });
}

const compareArbitrary: fc.Arbitrary<Compare> = fc.oneof(
  fc
    .tuple(keyArbitrary, fc.constantFrom('eq', 'ne', 'lt', 'gt' as const), versionArbitrary)
    .map(([key, op, version]): Compare => ({ key, target: 'version', op, version })),
  fc
    .tuple(keyArbitrary, fc.constantFrom('eq', 'ne' as const), valueArbitrary)
    .map(([key, op, value]): Compare => ({ key, target: 'value', op, value })),
);

/** Ops of one transaction branch: distinct keys, no expected versions. */
const branchArbitrary = fc
  .array(opArbitrary(false), { maxLength: 4 })
  .map((ops) => ops.filter((op, index) => ops.findIndex((other) => other.key === op.key) === index));

const fenceArbitrary: fc.Arbitrary<Fence> = fc.record({
  lockName: fc.constantFrom('lock-a', 'lock-b'),
  token: fc.bigInt({ min: 1n, max: 6n }),
});

export const commandArbitrary: fc.Arbitrary<Command> = fc
  .record({
    requestId: fc.oneof(
      { weight: 3, arbitrary: fc.constant('') },
      { weight: 1, arbitrary: fc.constantFrom('r1', 'r2', 'r3', 'r4') },
    ),
    writtenUnixMs: fc.bigInt({ min: 0n, max: 1n << 50n }),
    fence: fc.option(fenceArbitrary, { nil: undefined, freq: 3 }),
    body: fc.oneof(
      { weight: 6, arbitrary: opArbitrary(true).map((op) => ({ type: 'op' as const, op })) },
      {
        weight: 3,
        arbitrary: fc
          .tuple(fc.array(compareArbitrary, { maxLength: 3 }), branchArbitrary, branchArbitrary)
          .map(([compares, success, failure]) => ({ type: 'txn' as const, compares, success, failure })),
      },
      { weight: 1, arbitrary: fc.constant({ type: 'noop' as const }) },
    ),
  })
  .map((command) => {
    if (command.fence !== undefined) return command;
    const { fence: _fence, ...rest } = command;
    return rest;
  });

/** Commands with the sequences to apply them at: strictly increasing, sometimes with gaps (apply allows them). */
export const historyArbitrary = fc
  .array(fc.tuple(fc.integer({ min: 1, max: 3 }), commandArbitrary), { maxLength: 60 })
  .map((steps) => {
    let sequence = 0n;
    return steps.map(([gap, command]) => {
      sequence += BigInt(gap);
      return { sequence, command };
    });
  });
