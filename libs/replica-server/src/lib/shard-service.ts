// shard.v1.Shard: unary methods for grpcurl and simple callers, and the
// batched Operate stream routers use (ARCHITECTURE, Performance shape).
// An operation that carries its caller's trace context gets a server span
// of that trace, active while it runs (the runner's spans are its
// children), and each batch with traced operations a span linked to them.
import type { ServerDuplexStream } from '@grpc/grpc-js';
import { SpanKind, context, trace, type Tracer } from '@opentelemetry/api';
import { shardV1 } from '@bulwark/contracts';
import { DeadlineExceededError, ResourceExhaustedError } from '@bulwark/errors';
import type { Logger } from '@bulwark/logging';
import {
  contextFrom,
  endRpcSpan,
  endRpcSpanWithStatus,
  rpcAttributes,
  spanContextFrom,
  startBatchSpan,
  toStatus,
  untilCallEnds,
  type HandlerKit,
  type ServiceBinding,
} from '@bulwark/rpc';
import { checkOperateRequest, operationError } from '@bulwark/shard-codec';
import type { ShardOperations } from './shard-operations';

/** Operations in flight on one Operate stream; more are refused one by one, retryably. */
export const operationsInFlightMax = 1_024;
/** How long an operation without its own timeout may wait. */
export const operationTimeoutMsDefault = 10_000;
/** Bytes of keys and values in one OperateResponse: far inside a router's receive limit, whatever a turn answers. */
export const responseBytesMax = 4 * 1024 * 1024;
/** What a result adds to a message besides its keys and values. */
const resultOverheadBytes = 64;

type OperateStream = ServerDuplexStream<shardV1.OperateRequest, shardV1.OperateResponse>;

const shardServiceName = 'shard.v1.Shard';
const methodNames = { put: 'Put', get: 'Get', delete: 'Delete', txn: 'Txn' } as const;

/** Runs operation in a server span of its caller's trace when it carries one; as is otherwise. */
function traced(
  tracer: Tracer,
  operation: shardV1.Operation,
  run: () => Promise<shardV1.OperationResult>,
): Promise<shardV1.OperationResult> {
  const parent = contextFrom(operation.traceContext);
  if (!trace.getSpanContext(parent) || !operation.request) return run();
  const method = methodNames[operation.request.$case];
  const span = tracer.startSpan(
    `${shardServiceName}/${method}`,
    { kind: SpanKind.SERVER, attributes: rpcAttributes(shardServiceName, method) },
    parent,
  );
  return context.with(trace.setSpan(parent, span), run).then(
    (result) => {
      if (result.result?.$case === 'error')
        endRpcSpanWithStatus(span, result.result.error.code, result.result.error.message);
      else endRpcSpan(span);
      return result;
    },
    (error: unknown) => {
      endRpcSpan(span, error);
      throw error;
    },
  );
}

function withTimeout<T>(promise: Promise<T>, timeoutMs: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new DeadlineExceededError(`no answer within ${timeoutMs} ms; a write's outcome is unknown`)),
      timeoutMs,
    );
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}

async function perform(operations: ShardOperations, operation: shardV1.Operation): Promise<shardV1.OperationResult> {
  const request = operation.request;
  const id = operation.id;
  switch (request?.$case) {
    case 'put':
      return { id, result: { $case: 'put', put: await operations.put(request.put) } };
    case 'get':
      return { id, result: { $case: 'get', get: operations.get(request.get) } };
    case 'delete':
      return { id, result: { $case: 'delete', delete: await operations.delete(request.delete) } };
    case 'txn':
      return { id, result: { $case: 'txn', txn: await operations.txn(request.txn) } };
    default:
      throw new RangeError('checkOperateRequest lets no operation without a request through');
  }
}

/** results in order, in runs of at most bytesMax of keys and values (a bigger result goes alone). */
function batchesWithin(results: shardV1.OperationResult[], bytesMax: number): shardV1.OperationResult[][] {
  const batches: shardV1.OperationResult[][] = [];
  let batch: shardV1.OperationResult[] = [];
  let bytes = 0;
  for (const result of results) {
    const size = resultBytes(result);
    if (batch.length > 0 && bytes + size > bytesMax) {
      batches.push(batch);
      batch = [];
      bytes = 0;
    }
    batch.push(result);
    bytes += size;
  }
  if (batch.length > 0) batches.push(batch);
  return batches;
}

function resultBytes({ result }: shardV1.OperationResult): number {
  const kv =
    result?.$case === 'get'
      ? result.get.response?.kv
      : result?.$case === 'put'
        ? result.put.response?.current
        : undefined;
  return resultOverheadBytes + (kv ? kv.key.length * 3 + kv.value.length : 0);
}

export function shardService(
  kit: HandlerKit,
  operations: ShardOperations,
  logger: Logger,
  tracer: Tracer = trace.getTracer('bulwark-replica'),
): ServiceBinding {
  const implementation: shardV1.ShardServer = {
    put: kit.unary((request) => operations.put(request)),
    get: kit.unary((request) => operations.get(request)),
    delete: kit.unary((request) => operations.delete(request)),
    txn: kit.unary((request) => operations.txn(request)),
    scan: kit.unary((request) => operations.scan(request)),
    operate: kit.bidiStream(async (call: OperateStream, { shutdown }) => {
      const inFlight = new Set<bigint>();
      let results: shardV1.OperationResult[] = [];
      let flushScheduled = false;
      // Results of one event-loop turn go out as one message.
      const answer = (result: shardV1.OperationResult) => {
        results.push(result);
        if (flushScheduled) return;
        flushScheduled = true;
        setImmediate(() => {
          flushScheduled = false;
          const answered = results;
          results = [];
          if (call.writableEnded || call.cancelled) return;
          for (const batch of batchesWithin(answered, responseBytesMax)) call.write({ results: batch });
        });
      };
      const fail = (id: bigint, error: unknown) => {
        const failure = operationError(error);
        if (failure.code === 13) logger.error({ err: error }, 'internal error in a Shard operation');
        answer({ id, result: { $case: 'error', error: failure } });
      };
      await untilCallEnds(call, shutdown, (request: shardV1.OperateRequest) => {
        let batch: readonly shardV1.Operation[];
        try {
          batch = checkOperateRequest(request);
        } catch (error) {
          // A malformed batch is a client bug: the stream ends with its status, naming the field.
          const { code, details, metadata } = toStatus(error);
          call.emit('error', { code, details, metadata });
          return;
        }
        startBatchSpan(
          tracer,
          `${shardServiceName}/Operate`,
          SpanKind.CONSUMER,
          batch.map((operation) => spanContextFrom(operation.traceContext)),
          rpcAttributes(shardServiceName, 'Operate'),
        )?.end();
        for (const operation of batch) {
          if (inFlight.has(operation.id)) {
            fail(operation.id, new ResourceExhaustedError('operations.id', `${operation.id} is still in flight`));
            continue;
          }
          if (inFlight.size >= operationsInFlightMax) {
            fail(
              operation.id,
              new ResourceExhaustedError('operationsInFlightMax', `${operationsInFlightMax} operations are in flight`),
            );
            continue;
          }
          inFlight.add(operation.id);
          const timeoutMs = operation.timeoutMs > 0 ? operation.timeoutMs : operationTimeoutMsDefault;
          traced(tracer, operation, () => withTimeout(perform(operations, operation), timeoutMs))
            .then(
              (result) => answer(result),
              (error: unknown) => fail(operation.id, error),
            )
            .finally(() => inFlight.delete(operation.id));
        }
      });
    }),
  };
  return { definition: shardV1.ShardService, implementation };
}
