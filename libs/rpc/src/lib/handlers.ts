// Handler wrappers: every gRPC handler is written as an async function and
// wrapped once here, so each call is answered exactly once, thrown domain
// errors become their status from the error table, and anything else
// becomes INTERNAL with a log line (never a crash, never a double answer).
// Every call is counted and timed here too (grpc-metrics.ts).
import {
  status,
  type handleBidiStreamingCall,
  type handleServerStreamingCall,
  type handleUnaryCall,
  type ServerDuplexStream,
  type ServerUnaryCall,
  type ServerWritableStream,
} from '@grpc/grpc-js';
import type { Logger } from '@bulwark/logging';
import { UnimplementedError } from '@bulwark/errors';
import { toStatus } from './error-table';
import { methodMetrics, type GrpcType } from './grpc-metrics';

export interface HandlerContext {
  /** Aborted when the server starts draining: long-lived streams should end. */
  readonly shutdown: AbortSignal;
}

export interface HandlerKit {
  unary<Req, Res>(
    handler: (request: Req, call: ServerUnaryCall<Req, Res>, context: HandlerContext) => Promise<Res> | Res,
  ): handleUnaryCall<Req, Res>;
  serverStream<Req, Res>(
    handler: (request: Req, call: ServerWritableStream<Req, Res>, context: HandlerContext) => Promise<void>,
  ): handleServerStreamingCall<Req, Res>;
  bidiStream<Req, Res>(
    handler: (call: ServerDuplexStream<Req, Res>, context: HandlerContext) => Promise<void>,
  ): handleBidiStreamingCall<Req, Res>;
}

function methodOf(call: { getPath(): string }): string {
  return call.getPath();
}

export function createHandlerKit(logger: Logger, shutdown: AbortSignal): HandlerKit {
  const context: HandlerContext = { shutdown };

  function statusFor(error: unknown, method: string) {
    const result = toStatus(error);
    if (result.unmapped) logger.error({ err: error, method }, 'unmapped error in handler');
    return { code: result.code, details: result.details, metadata: result.metadata };
  }

  /**
   * Runs a streaming handler and ends its call: OK when it returns, its
   * error's status when it throws. A call the client cancelled is left
   * alone and counted CANCELLED: the handler ended because of it.
   */
  function stream(
    type: GrpcType,
    call: ServerWritableStream<unknown, unknown> | ServerDuplexStream<unknown, unknown>,
    handle: () => Promise<void>,
  ): void {
    const ended = methodMetrics(type, methodOf(call)).start();
    Promise.resolve()
      .then(handle)
      .then(
        () => {
          if (call.cancelled) return ended(status.CANCELLED);
          if (!call.writableEnded) call.end();
          ended(status.OK);
        },
        (error: unknown) => {
          if (call.cancelled) return ended(status.CANCELLED);
          // The handler ended the call before it threw: the client has its OK already.
          if (call.writableEnded) return ended(status.OK);
          const failure = statusFor(error, methodOf(call));
          call.emit('error', failure);
          ended(failure.code);
        },
      );
  }

  return {
    unary(handler) {
      return (call, callback) => {
        const ended = methodMetrics('unary', methodOf(call)).start();
        let answered = false;
        const answer = (error: ReturnType<typeof statusFor> | null, value?: Parameters<typeof callback>[1]) => {
          if (answered) return;
          answered = true;
          callback(error, value);
          ended(error ? error.code : status.OK);
        };
        Promise.resolve()
          .then(() => handler(call.request, call, context))
          .then(
            (response) => answer(null, response),
            (error: unknown) => answer(statusFor(error, methodOf(call))),
          );
      };
    },
    serverStream(handler) {
      return (call) => stream('server_stream', call, () => handler(call.request, call, context));
    },
    bidiStream(handler) {
      return (call) => stream('bidi_stream', call, () => handler(call, context));
    },
  };
}

/** A handler body for a contract method this build does not serve yet: answers UNIMPLEMENTED naming it. */
export function notImplemented(method: string): () => never {
  return () => {
    throw new UnimplementedError(method);
  };
}
