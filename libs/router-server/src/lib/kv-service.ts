// kv.v1.KV as a gRPC service: each call's deadline (the caller's, or the
// router's default when it set none) becomes the routing deadline, and
// single-key answers also name their group and replica in the response
// metadata (`bulwark-group`, `bulwark-replica`) for tools that only read
// headers.
import { Metadata, type ServerUnaryCall } from '@grpc/grpc-js';
import { trace } from '@opentelemetry/api';
import { kvV1, type commonV1 } from '@bulwark/contracts';
import { DeadlineExceededError } from '@bulwark/errors';
import { inActiveSpan, type HandlerKit, type ServiceBinding } from '@bulwark/rpc';
import type { Deadline, KvRouter } from './kv-router';

export const groupHeader = 'bulwark-group';
export const replicaHeader = 'bulwark-replica';

const tracer = trace.getTracer('bulwark-router');

export interface KvServiceOptions {
  /** Deadline of a call whose caller set none, ms. */
  readonly requestTimeoutMs: number;
}

/** The routing deadline of call, on performance.now(); DeadlineExceededError when it has passed already. */
export function deadlineOf(call: ServerUnaryCall<unknown, unknown>, requestTimeoutMs: number): Deadline {
  const callDeadline = call.getDeadline();
  const wallMs = callDeadline instanceof Date ? callDeadline.getTime() : callDeadline;
  const leftMs = Number.isFinite(wallMs) ? Math.min(wallMs - Date.now(), requestTimeoutMs) : requestTimeoutMs;
  if (leftMs <= 0 || call.cancelled) {
    throw new DeadlineExceededError('grpc-timeout: the call deadline passed before the router could route it');
  }
  return performance.now() + leftMs;
}

export function kvService(kit: HandlerKit, router: KvRouter, options: KvServiceOptions): ServiceBinding {
  type Method<Req, Res> = (request: Req, deadline: Deadline) => Promise<Res>;
  const handle = <Req, Res extends { header?: commonV1.ResponseHeader | undefined }>(
    name: string,
    method: Method<Req, Res>,
  ) =>
    kit.unary<Req, Res>((request, call) =>
      inActiveSpan(tracer, `bulwark.router/${name}`, async (span) => {
        const response = await method.call(router, request, deadlineOf(call, options.requestTimeoutMs));
        const header = response.header;
        if (header && header.groupId !== '') {
          const metadata = new Metadata();
          metadata.set(groupHeader, header.groupId);
          metadata.set(replicaHeader, header.memberId);
          call.sendMetadata(metadata);
          span.setAttributes({ 'bulwark.group': header.groupId, 'bulwark.replica': header.memberId });
        }
        return response;
      }),
    );
  const implementation: kvV1.KVServer = {
    put: handle('Put', router.put),
    get: handle('Get', router.get),
    delete: handle('Delete', router.delete),
    batchGet: handle('BatchGet', router.batchGet),
    batchPut: handle('BatchPut', router.batchPut),
    scan: handle('Scan', router.scan),
    txn: handle('Txn', router.txn),
    locate: handle('Locate', router.locate),
  };
  return { definition: kvV1.KVService, implementation };
}
