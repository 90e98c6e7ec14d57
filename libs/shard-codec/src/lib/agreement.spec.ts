// The codec and the state machine agree: a write this lib accepts is never
// refused by KvState.apply for its form (invalid-argument), under the same
// limits, and the command read back from its log bytes gives every member
// the same outcome and state as the command itself.
import fc from 'fast-check';
import type { shardV1 } from '@bulwark/contracts';
import { InvalidArgumentError } from '@bulwark/errors';
import { kvLimits, KvState } from '@bulwark/kv-state';
import { edgeDeleteRequest, edgeLimits, edgePutRequest, edgeTxnRequest } from '../testing';
import { decodeCommand, encodeCommand } from './command-codec';
import { deleteCommand, putCommand, txnCommand, type WriteCommand } from './write-requests';

const limits = kvLimits(edgeLimits);

type Write =
  | { readonly kind: 'put'; readonly request: shardV1.PutRequest }
  | { readonly kind: 'delete'; readonly request: shardV1.DeleteRequest }
  | { readonly kind: 'txn'; readonly request: shardV1.TxnRequest };

const writeArbitrary: fc.Arbitrary<Write> = fc.oneof(
  edgePutRequest.map((request) => ({ kind: 'put' as const, request })),
  edgeDeleteRequest.map((request) => ({ kind: 'delete' as const, request })),
  edgeTxnRequest.map((request) => ({ kind: 'txn' as const, request })),
);

function check(write: Write, nowUnixMs: bigint): WriteCommand {
  switch (write.kind) {
    case 'put':
      return putCommand(write.request, limits, nowUnixMs);
    case 'delete':
      return deleteCommand(write.request, limits, nowUnixMs);
    case 'txn':
      return txnCommand(write.request, limits, nowUnixMs);
  }
}

describe('shard-codec and KvState', () => {
  it('never lets through a write that KvState.apply refuses as invalid-argument (property)', () => {
    const counts = {
      put: { accepted: 0, refused: 0 },
      delete: { accepted: 0, refused: 0 },
      txn: { accepted: 0, refused: 0 },
    };
    fc.assert(
      fc.property(fc.array(writeArbitrary, { minLength: 1, maxLength: 20 }), (writes) => {
        const state = new KvState(limits);
        const replica = new KvState(limits);
        let sequence = 0n;
        for (const write of writes) {
          let command;
          try {
            command = check(write, 1_700_000_000_000n + sequence).command;
          } catch (error) {
            expect(error).toBeInstanceOf(InvalidArgumentError);
            counts[write.kind].refused++;
            continue;
          }
          counts[write.kind].accepted++;
          sequence++;
          const outcome = state.apply(sequence, command);
          if (outcome.kind === 'refused') expect(outcome.code).not.toBe('invalid-argument');
          // A backup applies what it decodes from the log: the same outcome.
          expect(replica.apply(sequence, decodeCommand(encodeCommand(command)))).toEqual(outcome);
        }
        expect(replica.digest()).toBe(state.digest());
      }),
      { numRuns: 500 },
    );
    // Both sides of the property were exercised for every kind of write.
    for (const { accepted, refused } of Object.values(counts)) {
      expect(accepted).toBeGreaterThan(100);
      expect(refused).toBeGreaterThan(100);
    }
  });
});
