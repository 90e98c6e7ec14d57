// Helpers for the Operate stream: a batch's form, and one operation's
// failure answered exactly as its unary call would have been (the same
// status code and ErrorDetail, from the rpc lib's one error table).
import { commonV1, type shardV1 } from '@bulwark/contracts';
import { InvalidArgumentError } from '@bulwark/errors';
import { errorDetailTrailer, toStatus } from '@bulwark/rpc';

/** Most operations in one OperateRequest (shard.v1: 1 to 1,024). */
export const operateBatchOperationsMax = 1024;

/**
 * Checks a batch: 1 to 1,024 operations, ids distinct within it, each with
 * a request. Throws InvalidArgumentError naming the first bad field
 * (`operations`, `operations[3].id`, `operations[3].request`): the batch is
 * malformed as a whole, a client bug, so the stream should fail with it.
 * Ids must also be distinct from the stream's operations still in flight;
 * only the stream knows those.
 */
export function checkOperateRequest(
  request: shardV1.OperateRequest,
  operationsMax = operateBatchOperationsMax,
): readonly shardV1.Operation[] {
  const operations = request?.operations;
  if (!Array.isArray(operations)) throw new InvalidArgumentError('operations', 'must be a list');
  if (operations.length === 0) throw new InvalidArgumentError('operations', 'must hold at least one operation');
  if (operations.length > operationsMax) {
    throw new InvalidArgumentError('operations', `has ${operations.length} operations, over ${operationsMax}`);
  }
  const firstIndex = new Map<bigint, number>();
  operations.forEach((operation, index) => {
    const path = `operations[${index}]`;
    if (typeof operation !== 'object' || operation === null) throw new InvalidArgumentError(path, 'must be set');
    const earlier = firstIndex.get(operation.id);
    if (earlier !== undefined) {
      throw new InvalidArgumentError(`${path}.id`, `${operation.id} is already the id of operations[${earlier}]`);
    }
    firstIndex.set(operation.id, index);
    if (operation.request === undefined || operation.request === null) {
      throw new InvalidArgumentError(`${path}.request`, 'must be a put, get, delete or txn');
    }
  });
  return operations;
}

/**
 * One operation's failure as the unary handler would have answered it:
 * the status code, message and ErrorDetail of the rpc lib's toStatus. An
 * error outside the domain is INTERNAL "internal error" without a detail,
 * as there; the caller logs it (the unary handlers log every such error).
 */
export function operationError(error: unknown): commonV1.Status {
  const status = toStatus(error);
  const trailer = status.metadata.get(errorDetailTrailer)[0];
  return {
    code: status.code,
    message: status.details,
    detail: trailer instanceof Uint8Array ? commonV1.ErrorDetail.decode(trailer) : undefined,
  };
}
