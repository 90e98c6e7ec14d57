// A client of one shard.v1 Operate stream, as a router would hold one per
// member: each operation gets the next id and is sent in the batch of the
// event-loop turn it was submitted in (one OperateRequest per turn), and its
// promise settles when its result arrives, a failure rebuilt as the typed
// error the unary call would have thrown. A stream that fails fails every
// operation still waiting on it; the caller opens another.
import { Metadata, type ServiceError } from '@grpc/grpc-js';
import { commonV1, type shardV1 } from '@bulwark/contracts';
import { BulwarkError, ResourceExhaustedError, UnavailableError } from '@bulwark/errors';
import { errorDetailTrailer, fromServiceError } from '@bulwark/rpc';

/** shard.v1: at most 1,024 operations in flight per stream, and per OperateRequest. */
export const operationsInFlightMax = 1_024;

/** What of a grpc-js ClientDuplexStream this client uses. */
export interface OperateCall {
  write(request: shardV1.OperateRequest): boolean;
  end(): void;
  cancel(): void;
  on(event: 'data', listener: (response: shardV1.OperateResponse) => void): this;
  on(event: 'error', listener: (error: ServiceError) => void): this;
  on(event: 'end', listener: () => void): this;
}

export type OperationRequest = NonNullable<shardV1.Operation['request']>;
export type OperationAnswer = Exclude<shardV1.OperationResult['result'], { $case: 'error' } | undefined>;

/** The typed error for one failed operation: its code and detail read as the unary call's status would be. */
export function operationFailure(error: shardV1.OperationError): BulwarkError {
  const metadata = new Metadata();
  if (error.detail) {
    metadata.set(errorDetailTrailer, Buffer.from(commonV1.ErrorDetail.encode(error.detail).finish()));
  }
  return fromServiceError(
    Object.assign(new Error(error.message), { code: error.code, details: error.message, metadata }),
  );
}

interface Waiting {
  resolve: (answer: OperationAnswer) => void;
  reject: (error: unknown) => void;
}

export class OperateStream {
  private nextId = 1n;
  private readonly waiting = new Map<bigint, Waiting>();
  private queued: shardV1.Operation[] = [];
  private flushScheduled = false;
  private failure: BulwarkError | undefined;

  constructor(private readonly call: OperateCall) {
    call.on('data', (response) => this.onResults(response.results));
    call.on('error', (error) => this.failAll(fromServiceError(error)));
    call.on('end', () => this.failAll(new UnavailableError('the Operate stream ended')));
  }

  /** False once the stream has failed or ended: open another. */
  get usable(): boolean {
    return this.failure === undefined;
  }

  submit(request: OperationRequest, timeoutMs = 0): Promise<OperationAnswer> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.waiting.size >= operationsInFlightMax) {
      return Promise.reject(
        new ResourceExhaustedError('operationsInFlightMax', `${operationsInFlightMax} operations are in flight`),
      );
    }
    const id = this.nextId++;
    return new Promise<OperationAnswer>((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.queued.push({ id, timeoutMs, request });
      if (this.flushScheduled) return;
      this.flushScheduled = true;
      // After this turn's I/O callbacks and the promise jobs they start, so everything they submit goes together.
      setImmediate(() => this.flush());
    });
  }

  /** Ends the stream (cancels it if operations still wait; they fail). */
  close(): void {
    if (this.waiting.size > 0) this.call.cancel();
    else this.call.end();
    this.failAll(new UnavailableError('the Operate stream was closed'));
  }

  private flush(): void {
    this.flushScheduled = false;
    const operations = this.queued;
    this.queued = [];
    if (this.failure) return; // failAll has rejected them already
    // At most operationsInFlightMax are waiting, so this is one request within the batch limit.
    this.call.write({ operations });
  }

  private onResults(results: readonly shardV1.OperationResult[]): void {
    for (const { id, result } of results) {
      const waiting = this.waiting.get(id);
      if (!waiting) continue; // answered already (the stream failed meanwhile)
      this.waiting.delete(id);
      if (result === undefined) waiting.reject(new UnavailableError(`operation ${id} answered without a result`));
      else if (result.$case === 'error') waiting.reject(operationFailure(result.error));
      else waiting.resolve(result);
    }
  }

  private failAll(error: BulwarkError): void {
    this.failure ??= error;
    const waiting = [...this.waiting.values()];
    this.waiting.clear();
    for (const operation of waiting) operation.reject(this.failure);
  }
}
