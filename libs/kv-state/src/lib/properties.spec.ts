import fc from 'fast-check';
import { KvState } from './kv-state';
import type { KvLimits } from './limits';
import type { Command, Compare, Op, Outcome, WrittenOutcome } from './types';
import { historyArbitrary } from '../testing';

interface ModelKey {
  value: Uint8Array;
  version: bigint;
  createSequence: bigint;
  modSequence: bigint;
}

/**
 * The rules in the plainest form, for histories of valid entries within the
 * default limits: a Map of keys, the highest token per lock name, the first
 * outcome per request id. Refusals are compared by code and field.
 */
class Model {
  readonly keys = new Map<string, ModelKey>();
  private readonly fences = new Map<string, bigint>();
  private readonly requests = new Map<string, Outcome>();

  apply(sequence: bigint, command: Command): Outcome {
    const first = command.requestId === '' ? undefined : this.requests.get(command.requestId);
    if (first) return first;
    const outcome = this.applyNew(sequence, command);
    if (command.requestId !== '') this.requests.set(command.requestId, outcome);
    return outcome;
  }

  private applyNew(sequence: bigint, { fence, body }: Command): Outcome {
    const highest = fence && this.fences.get(fence.lockName);
    if (fence && highest !== undefined && fence.token < highest) {
      return { kind: 'refused', code: 'failed-precondition', field: 'fence.token', message: '' };
    }
    if (fence) this.fences.set(fence.lockName, fence.token);
    if (body.type === 'noop') return { kind: 'noop' };
    if (body.type === 'op') return this.write(sequence, body.op);
    const succeeded = body.compares.every((compare) => this.holds(compare));
    return {
      kind: 'txn',
      succeeded,
      results: (succeeded ? body.success : body.failure).map((op) => this.write(sequence, op)),
    };
  }

  private holds(compare: Compare): boolean {
    const current = this.keys.get(compare.key);
    if (compare.target === 'value') {
      if (!current) return false;
      const equal = Buffer.from(current.value).equals(Buffer.from(compare.value));
      return compare.op === 'eq' ? equal : !equal;
    }
    const version = current?.version ?? 0n;
    return {
      eq: version === compare.version,
      ne: version !== compare.version,
      lt: version < compare.version,
      gt: version > compare.version,
    }[compare.op];
  }

  private write(sequence: bigint, op: Op): WrittenOutcome {
    const current = this.keys.get(op.key);
    if (op.expectedVersion !== undefined && op.expectedVersion !== (current?.version ?? 0n)) {
      return {
        kind: 'written',
        succeeded: false,
        version: current?.version ?? 0n,
        modSequence: current?.modSequence ?? 0n,
      };
    }
    const previous = current && { version: current.version, modSequence: current.modSequence };
    if (op.type === 'delete') {
      this.keys.delete(op.key);
      return { kind: 'written', succeeded: true, version: 0n, modSequence: 0n, ...(previous ? { previous } : {}) };
    }
    const version = (current?.version ?? 0n) + 1n;
    this.keys.set(op.key, {
      value: op.value.slice(),
      version,
      createSequence: current?.createSequence ?? sequence,
      modSequence: sequence,
    });
    return { kind: 'written', succeeded: true, version, modSequence: sequence, ...(previous ? { previous } : {}) };
  }
}

function comparable(outcome: Outcome): unknown {
  return outcome.kind === 'refused' ? { kind: outcome.kind, code: outcome.code, field: outcome.field } : outcome;
}

function byUtf8(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/** Every key of a prefix, page by page. */
function scanAll(state: KvState, prefix: string, limit: number): string[] {
  const keys: string[] = [];
  let startKey: string | undefined = '';
  while (startKey !== undefined) {
    const page = state.scan({ prefix, startKey, limit });
    expect(page.kvs.length).toBeLessThanOrEqual(limit);
    keys.push(...page.kvs.map((kv) => kv.key));
    startKey = page.nextStartKey;
  }
  return keys;
}

/** Tight limits, so refusals, evictions and full tables happen in short histories. */
const tightLimits: Partial<KvLimits> = { totalBytesMax: 24, fenceNamesMax: 1, dedupeEntriesMax: 2, txnOpsMax: 2 };
const limitsArbitrary = fc.constantFrom<Partial<KvLimits>>({}, tightLimits);

describe('KvState properties', () => {
  it('agrees with a model of the rules on every outcome, get and scan', () => {
    fc.assert(
      fc.property(historyArbitrary, fc.integer({ min: 1, max: 4 }), (history, limit) => {
        const state = new KvState();
        const model = new Model();
        for (const { sequence, command } of history) {
          expect(comparable(state.apply(sequence, command))).toEqual(comparable(model.apply(sequence, command)));
        }
        for (const [key, expected] of model.keys) {
          expect(state.get(key)).toEqual({ key, ...expected });
        }
        expect(state.keyCount).toBe(model.keys.size);
        const totalBytes = [...model.keys].reduce(
          (sum, [key, kv]) => sum + Buffer.byteLength(key) + kv.value.length,
          0,
        );
        expect(state.totalBytes).toBe(totalBytes);
        for (const prefix of ['', 'a', 'ab', 'c/', '\u{1f600}', 'z']) {
          const expected = [...model.keys.keys()].filter((key) => key.startsWith(prefix)).sort(byUtf8);
          expect(scanAll(state, prefix, limit)).toEqual(expected);
        }
      }),
    );
  });

  it('gives two members fed the same entries the same outcomes and digests', () => {
    fc.assert(
      fc.property(historyArbitrary, limitsArbitrary, (history, limits) => {
        const one = new KvState(limits);
        const other = new KvState(limits);
        // The other member decodes its own copy of every entry, as from the network.
        const copies = structuredClone(history);
        history.forEach(({ sequence, command }, index) => {
          const copy = copies[index] as (typeof copies)[number];
          expect(other.apply(copy.sequence, copy.command)).toEqual(one.apply(sequence, command));
        });
        expect(other.digest()).toBe(one.digest());
        expect(other.scan({ limit: 1000 })).toEqual(one.scan({ limit: 1000 }));
      }),
    );
  });

  it('gives the same outcomes and digest after snapshot, restore and going on as without the snapshot', () => {
    fc.assert(
      fc.property(
        historyArbitrary,
        limitsArbitrary,
        fc.nat(),
        fc.integer({ min: 16, max: 300 }),
        (history, limits, cut, chunkBytes) => {
          const at = cut % (history.length + 1);
          const straight = new KvState(limits);
          const before = new KvState(limits);
          for (const { sequence, command } of history.slice(0, at)) {
            expect(before.apply(sequence, command)).toEqual(straight.apply(sequence, command));
          }
          const restored = KvState.restore(before.snapshotChunks(chunkBytes), limits);
          expect(restored.digest()).toBe(straight.digest());
          for (const { sequence, command } of history.slice(at)) {
            expect(restored.apply(sequence, command)).toEqual(straight.apply(sequence, command));
          }
          expect(restored.digest()).toBe(straight.digest());
        },
      ),
    );
  });
});
