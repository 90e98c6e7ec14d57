// Outcomes of applied writes -> shard.v1 answers. A refused outcome is
// thrown as the @bulwark/errors error of its code, its field renamed from
// the state machine's (`txn.success[1].value`) to the proto path a caller
// sees (`request.success[1].put.value`). An outcome of another kind than
// the call (a put answered by a transaction's outcome) can only come from a
// retry whose request_id the group remembers for a different write: kv-state
// answers by id, not by body.
import type { commonV1, shardV1 } from '@bulwark/contracts';
import {
  asDecided,
  type BulwarkError,
  FailedPreconditionError,
  InternalError,
  InvalidArgumentError,
  ResourceExhaustedError,
} from '@bulwark/errors';
import type { Command, KeyValue, Outcome, RefusedOutcome, WrittenOutcome } from '@bulwark/kv-state';
import { toKeyValue } from './key-value';

/**
 * The answer to a Put. `current` is the key as it is now (the runner's
 * KvState.get right after apply); it is sent with a failed compare-and-set
 * only when it is the version the outcome saw (same version and mod
 * sequence), so a retry answered later never shows a newer key as the one
 * the compare failed on.
 */
export function putResponse(
  outcome: Outcome,
  header: commonV1.ResponseHeader,
  current?: KeyValue,
): shardV1.PutResponse {
  const written = expectWritten(outcome, 'put');
  const sameVersion =
    current !== undefined && current.version === written.version && current.modSequence === written.modSequence;
  return {
    response: {
      header,
      succeeded: written.succeeded,
      version: written.version,
      current: !written.succeeded && sameVersion ? toKeyValue(current) : undefined,
    },
  };
}

/** The answer to a Delete: `existed` when the delete removed a key. */
export function deleteResponse(outcome: Outcome, header: commonV1.ResponseHeader): shardV1.DeleteResponse {
  const written = expectWritten(outcome, 'delete');
  return {
    response: { header, succeeded: written.succeeded, existed: written.succeeded && written.previous !== undefined },
  };
}

/**
 * The answer to a Txn. `command` is the transaction's (txnCommand's): the
 * outcome holds versions, not keys, so the keys of the branch that ran come
 * from it.
 */
export function txnResponse(outcome: Outcome, header: commonV1.ResponseHeader, command: Command): shardV1.TxnResponse {
  if (command.body.type !== 'txn')
    throw new RangeError(`txnResponse needs the transaction's command, got ${command.body.type}`);
  if (outcome.kind === 'refused') throw refusalError(outcome, command);
  if (outcome.kind !== 'txn') throw reusedRequestId('txn', outcome);
  const branch = outcome.succeeded ? command.body.success : command.body.failure;
  if (branch.length !== outcome.results.length) throw reusedRequestId('txn', outcome);
  return {
    response: {
      header,
      succeeded: outcome.succeeded,
      results: branch.map((op, index) => {
        const result = outcome.results[index] as WrittenOutcome;
        return { key: op.key, version: result.version, existed: result.previous !== undefined };
      }),
    },
  };
}

function expectWritten(outcome: Outcome, call: 'put' | 'delete'): WrittenOutcome {
  if (outcome.kind === 'refused') throw refusalError(outcome);
  if (outcome.kind !== 'written') throw reusedRequestId(call, outcome);
  return outcome;
}

function reusedRequestId(call: string, outcome: Exclude<Outcome, RefusedOutcome>): FailedPreconditionError {
  const first = outcome.kind === 'written' ? 'a put or delete' : outcome.kind === 'txn' ? 'a transaction' : 'a no-op';
  return asDecided(
    new FailedPreconditionError(
      'request.request_id',
      `already used by a different request (${first}, answered for this ${call}); use a new id for a new write`,
    ),
  );
}

/**
 * The error a refused outcome is answered with, its field named as in the
 * request. `command` (the write's) tells a transaction op's put from its
 * delete; without it such a field names the op. A refusal of a field no
 * caller sets (the primary's stamp, the command's shape) is our bug:
 * InternalError.
 */
export function refusalError(outcome: RefusedOutcome, command?: Command): BulwarkError {
  const field = requestField(outcome.field, command);
  if (field === undefined) {
    return new InternalError(`the state machine refused the entry: ${outcome.field}: ${outcome.message}`);
  }
  const problem = field.rest === '' ? outcome.message : `${field.rest} ${outcome.message}`;
  // The state machine remembers the refusal under the request id: it is the write's final answer.
  switch (outcome.code) {
    case 'failed-precondition':
      return asDecided(new FailedPreconditionError(field.path, problem));
    case 'resource-exhausted':
      // A full store or too many fence names: the state must change first, a retry alone never helps.
      return asDecided(new ResourceExhaustedError(field.path, problem, { retryable: false }));
    case 'invalid-argument':
      return asDecided(new InvalidArgumentError(field.path, problem));
  }
}

const requestFields = new Set([
  'request_id',
  'key',
  'value',
  'expected_version',
  'fence',
  'fence.lock_name',
  'fence.token',
]);
const txnField = /^txn\.(compares|success|failure)(?:\[(\d+)\](?:\.([a-z_]+))?)?$/;

/** `path` is the proto path; `rest` is what of the state's field it could not name (a txn op's field when put or delete is unknown). */
function requestField(field: string, command?: Command): { path: string; rest: string } | undefined {
  if (requestFields.has(field)) return { path: `request.${field}`, rest: '' };
  const match = txnField.exec(field);
  if (!match) return undefined;
  const [, list, index, name] = match as unknown as [string, 'compares' | 'success' | 'failure', string?, string?];
  if (index === undefined) return { path: `request.${list}`, rest: '' };
  const element = `request.${list}[${index}]`;
  if (name === undefined) return { path: element, rest: '' };
  if (list === 'compares') return { path: `${element}.${name === 'op' ? 'operator' : name}`, rest: '' };
  const body = command?.body;
  const op = body?.type === 'txn' ? body[list][Number(index)] : undefined;
  // Only a put has a value; otherwise the command says which of the two the op is.
  const choice = op?.type ?? (name === 'value' ? 'put' : undefined);
  return choice ? { path: `${element}.${choice}.${name}`, rest: '' } : { path: element, rest: name };
}
