// Handler wrappers: every gRPC handler is written as an async function and
// wrapped once here, so each call is answered exactly once, thrown domain
// errors become their status from the error table, and anything else
// becomes INTERNAL with a log line (never a crash, never a double answer).
import type {
  handleBidiStreamingCall,
  handleServerStreamingCall,
  handleUnaryCall,
  ServerDuplexStream,
  ServerUnaryCall,
  ServerWritableStream,
} from '@grpc/grpc-js';
import type { Logger } from '@bulwark/logging';
import { UnimplementedError } from '@bulwark/errors';
import { toStatus } from './error-table';

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

  return {
    unary(handler) {
      return (call, callback) => {
        let answered = false;
        const answer: typeof callback = (error, value) => {
          if (answered) return;
          answered = true;
          callback(error, value);
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
      return (call) => {
        Promise.resolve()
          .then(() => handler(call.request, call, context))
          .then(
            () => {
              if (!call.cancelled && !call.writableEnded) call.end();
            },
            (error: unknown) => {
              if (!call.cancelled && !call.writableEnded) call.emit('error', statusFor(error, methodOf(call)));
            },
          );
      };
    },
    bidiStream(handler) {
      return (call) => {
        Promise.resolve()
          .then(() => handler(call, context))
          .then(
            () => {
              if (!call.cancelled && !call.writableEnded) call.end();
            },
            (error: unknown) => {
              if (!call.cancelled && !call.writableEnded) call.emit('error', statusFor(error, methodOf(call)));
            },
          );
      };
    },
  };
}

/** A handler body for a contract method this build does not serve yet: answers UNIMPLEMENTED naming it. */
export function notImplemented(method: string): () => never {
  return () => {
    throw new UnimplementedError(method);
  };
}
