// A client of one shard.v1 Operate stream, the router's hop to one replica:
// each operation gets the next id and goes out in the batch of the
// event-loop turn it was submitted in (one OperateRequest per turn), and its
// promise settles when its result arrives, a failure rebuilt as the typed
// error the unary call would have thrown. Bounded and flow-controlled: at
// most the server's 1,024 operations are in flight, up to queuedMax more
// wait here (past that a submit is refused, retryably), and nothing is
// written while the transport asks to wait ('drain'). Every operation ends
// by its deadline, answered or not, so a replica that went silent cannot
// hold a caller. A stream that fails fails every operation still waiting on
// it; the caller opens another. Traced, each operation is a client span of
// its caller's trace, carried in the operation, and each batch a span
// linked to the operations it carried.
import { Metadata, type ServiceError } from '@grpc/grpc-js';
import { SpanKind, trace, type Attributes, type Span, type SpanOptions, type Tracer } from '@opentelemetry/api';
import { commonV1, type shardV1 } from '@bulwark/contracts';
import { BulwarkError, DeadlineExceededError, ResourceExhaustedError, UnavailableError } from '@bulwark/errors';
import {
  endRpcSpan,
  errorDetailTrailer,
  fromServiceError,
  rpcAttributes,
  startBatchSpan,
  traceContextOf,
} from '@bulwark/rpc';

/** shard.v1: at most 1,024 operations in flight per stream, and per OperateRequest. */
export const operationsInFlightMax = 1_024;
/** Operations waiting for a slot on one stream unless told otherwise. */
export const queuedOperationsMaxDefault = 8_192;
/** Bytes of values and keys in one OperateRequest, well inside a replica's 8 MiB receive limit; one bigger operation goes alone. */
export const batchBytesMax = 4 * 1024 * 1024;
/** What an operation adds to a message besides its keys and values. */
const operationOverheadBytes = 64;
/**
 * How long a slot stays taken after its operation timed out here: the
 * replica counted it from when it arrived, a little later, and answers it
 * by then, so reusing the slot at once could go past its bound of 1,024.
 */
const overdueSlotMs = 1_000;
/** How often waiting operations are checked against their deadlines. */
const deadlineSweepMs = 20;

/** What of a grpc-js ClientDuplexStream this client uses. */
export interface OperateCall {
  write(request: shardV1.OperateRequest): boolean;
  end(): void;
  cancel(): void;
  on(event: 'data', listener: (response: shardV1.OperateResponse) => void): this;
  on(event: 'error', listener: (error: ServiceError) => void): this;
  on(event: 'end', listener: () => void): this;
  once(event: 'drain', listener: () => void): this;
}

export type OperationRequest = NonNullable<shardV1.Operation['request']>;
export type OperationAnswer = Exclude<shardV1.OperationResult['result'], { $case: 'error' } | undefined>;

/** The typed error for one failed operation: its code and detail read as the unary call's status would be. */
export function operationFailure(error: commonV1.Status): BulwarkError {
  const metadata = new Metadata();
  if (error.detail) {
    metadata.set(errorDetailTrailer, Buffer.from(commonV1.ErrorDetail.encode(error.detail).finish()));
  }
  return fromServiceError(
    Object.assign(new Error(error.message), { code: error.code, details: error.message, metadata }),
  );
}

export interface OperateStreamOptions {
  /** Operations waiting for an in-flight slot before submits are refused; queuedOperationsMaxDefault. */
  readonly queuedMax?: number;
  /** The clock deadlines are counted on (ms); performance.now unless a test fixes it. */
  readonly nowMs?: () => number;
  /** Where the stream goes, for spans: the replica's member id and address. */
  readonly replica?: { readonly memberId: string; readonly address: string };
  /** The global tracer unless a test brings its own. */
  readonly tracer?: Tracer;
}

const shardService = 'shard.v1.Shard';
const methodNames = { put: 'Put', get: 'Get', delete: 'Delete', txn: 'Txn' } as const;
const spanNames = {
  put: `${shardService}/Put`,
  get: `${shardService}/Get`,
  delete: `${shardService}/Delete`,
  txn: `${shardService}/Txn`,
} as const;

interface Waiting {
  readonly id: bigint;
  readonly request: OperationRequest;
  /** Absolute, on nowMs. */
  readonly deadline: number;
  readonly resolve: (answer: OperationAnswer) => void;
  readonly reject: (error: unknown) => void;
  /** The operation's client span, ended when it settles. */
  readonly span: Span;
}

export class OperateStream {
  private nextId = 1n;
  /** Sent and not answered, by id. */
  private readonly inFlight = new Map<bigint, Waiting>();
  /** Timed out here and not answered yet, by id: when their slot is freed anyway. */
  private readonly overdue = new Map<bigint, number>();
  /** Submitted and not sent yet, in submission order. */
  private queued: Waiting[] = [];
  private flushScheduled = false;
  private waitingForDrain = false;
  private sweepTimer: NodeJS.Timeout | undefined;
  private failure: BulwarkError | undefined;
  private readonly queuedMax: number;
  private readonly nowMs: () => number;
  private readonly tracer: Tracer;
  /** Built once per stream: every operation's span would otherwise build the same attributes. */
  private readonly spanOptions: Record<OperationRequest['$case'], SpanOptions>;
  private readonly batchAttributes: Attributes;

  constructor(
    private readonly call: OperateCall,
    options: OperateStreamOptions = {},
  ) {
    this.queuedMax = options.queuedMax ?? queuedOperationsMaxDefault;
    this.nowMs = options.nowMs ?? (() => performance.now());
    this.tracer = options.tracer ?? trace.getTracer('bulwark-router');
    const { replica } = options;
    const operationOptions = (method: string): SpanOptions => ({
      kind: SpanKind.CLIENT,
      attributes: {
        ...rpcAttributes(shardService, method, replica?.address),
        ...(replica ? { 'bulwark.replica.member': replica.memberId } : {}),
      },
    });
    this.spanOptions = {
      put: operationOptions(methodNames.put),
      get: operationOptions(methodNames.get),
      delete: operationOptions(methodNames.delete),
      txn: operationOptions(methodNames.txn),
    };
    this.batchAttributes = rpcAttributes(shardService, 'Operate', replica?.address);
    call.on('data', (response) => this.onResults(response.results));
    call.on('error', (error) => this.failAll(fromServiceError(error)));
    call.on('end', () => this.failAll(new UnavailableError('the Operate stream ended')));
  }

  /** False once the stream has failed or ended: open another. */
  get usable(): boolean {
    return this.failure === undefined;
  }

  /** Operations sent and not answered, plus those waiting to be sent. */
  get pending(): number {
    return this.inFlight.size + this.queued.length;
  }

  /**
   * Sends request with timeoutMs as its deadline (the replica's too); the
   * promise rejects with DeadlineExceededError if no answer came by then.
   */
  submit(request: OperationRequest, timeoutMs: number): Promise<OperationAnswer> {
    if (this.failure) return Promise.reject(this.failure);
    // Queued operations that fit in a free in-flight slot go out this turn: only those beyond wait.
    if (this.pending >= operationsInFlightMax + this.queuedMax) {
      return Promise.reject(
        new ResourceExhaustedError('queuedMax', `${this.queuedMax} operations wait for this replica already`),
      );
    }
    const wholeMs = Math.max(1, Math.ceil(timeoutMs));
    const span = this.tracer.startSpan(spanNames[request.$case], this.spanOptions[request.$case]);
    return new Promise<OperationAnswer>((resolve, reject) => {
      const deadline = this.nowMs() + wholeMs;
      this.queued.push({
        id: this.nextId++,
        request,
        deadline,
        resolve: (answer) => {
          endRpcSpan(span);
          resolve(answer);
        },
        reject: (error) => {
          endRpcSpan(span, error);
          reject(error);
        },
        span,
      });
      this.sweepTimer ??= setInterval(() => this.sweep(), deadlineSweepMs).unref();
      this.scheduleFlush();
    });
  }

  /** Ends the stream (cancels it if operations still wait; they fail). */
  close(): void {
    if (this.pending > 0) this.call.cancel();
    else this.call.end();
    this.failAll(new UnavailableError('the Operate stream was closed'));
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    // After this turn's I/O callbacks and the promise jobs they start, so everything they submit goes together.
    setImmediate(() => this.flush());
  }

  private flush(): void {
    this.flushScheduled = false;
    while (!this.failure && !this.waitingForDrain && this.queued.length > 0) {
      const room = operationsInFlightMax - this.inFlight.size - this.overdue.size;
      if (room <= 0) return;
      const now = this.nowMs();
      const operations: shardV1.Operation[] = [];
      let bytes = 0;
      let taken = 0;
      for (const waiting of this.queued) {
        if (taken === room) break;
        const size = operationBytes(waiting.request);
        if (taken > 0 && bytes + size > batchBytesMax) break;
        bytes += size;
        taken++;
        this.inFlight.set(waiting.id, waiting);
        operations.push({
          id: waiting.id,
          timeoutMs: Math.max(1, Math.ceil(waiting.deadline - now)),
          request: waiting.request,
          traceContext: traceContextOf(waiting.span),
        });
      }
      const sent = this.queued.slice(0, taken);
      this.queued = taken === this.queued.length ? [] : this.queued.slice(taken);
      const batchSpan = startBatchSpan(
        this.tracer,
        `${shardService}/Operate`,
        SpanKind.PRODUCER,
        sent.map((waiting) => waiting.span.spanContext()),
        this.batchAttributes,
      );
      const written = this.call.write({ operations });
      batchSpan?.end();
      if (!written) {
        this.waitingForDrain = true;
        this.call.once('drain', () => {
          this.waitingForDrain = false;
          this.scheduleFlush();
        });
      }
    }
  }

  private onResults(results: readonly shardV1.OperationResult[]): void {
    for (const { id, result } of results) {
      const waiting = this.inFlight.get(id);
      if (!waiting) {
        // Timed out here already (its slot is free now), or the stream failed meanwhile.
        this.overdue.delete(id);
        continue;
      }
      this.inFlight.delete(id);
      if (result === undefined) waiting.reject(new UnavailableError(`operation ${id} answered without a result`));
      else if (result.$case === 'error') waiting.reject(operationFailure(result.error));
      else waiting.resolve(result);
    }
    if (this.queued.length > 0) this.scheduleFlush();
    else if (this.inFlight.size === 0 && this.overdue.size === 0) this.stopSweeping();
  }

  /** Fails what waited past its deadline; an in-flight one keeps its slot until answered, or for overdueSlotMs. */
  private sweep(): void {
    const now = this.nowMs();
    const expired = (waiting: Waiting) => waiting.deadline <= now;
    for (const [id, releaseAt] of this.overdue) {
      if (releaseAt <= now) this.overdue.delete(id);
    }
    for (const waiting of this.inFlight.values()) {
      if (expired(waiting)) {
        this.inFlight.delete(waiting.id);
        this.overdue.set(waiting.id, now + overdueSlotMs);
        waiting.reject(timedOut(waiting));
      }
    }
    if (this.queued.some(expired)) {
      const late = this.queued.filter(expired);
      this.queued = this.queued.filter((waiting) => !expired(waiting));
      for (const waiting of late) waiting.reject(timedOut(waiting));
    }
    if (this.pending === 0 && this.overdue.size === 0) this.stopSweeping();
    else if (this.queued.length > 0) this.scheduleFlush();
  }

  private stopSweeping(): void {
    clearInterval(this.sweepTimer);
    this.sweepTimer = undefined;
  }

  private failAll(error: BulwarkError): void {
    this.failure ??= error;
    this.stopSweeping();
    const waiting = [...this.inFlight.values(), ...this.queued];
    this.inFlight.clear();
    this.overdue.clear();
    this.queued = [];
    for (const operation of waiting) operation.reject(this.failure);
  }
}

function timedOut(waiting: Waiting): DeadlineExceededError {
  const write = waiting.request.$case !== 'get';
  return new DeadlineExceededError(
    `operation ${waiting.id} had no answer by its deadline${write ? '; the write may or may not have been applied' : ''}`,
  );
}

/** Roughly what request adds to a message: its keys and values, and a fixed overhead. */
function operationBytes(request: OperationRequest): number {
  switch (request.$case) {
    case 'put': {
      const put = request.put.request;
      return operationOverheadBytes + (put ? put.key.length * 3 + put.value.length : 0);
    }
    case 'get':
      return operationOverheadBytes + (request.get.request?.key.length ?? 0) * 3;
    case 'delete':
      return operationOverheadBytes + (request.delete.request?.key.length ?? 0) * 3;
    case 'txn': {
      const txn = request.txn.request;
      if (!txn) return operationOverheadBytes;
      let bytes = operationOverheadBytes;
      for (const compare of txn.compares) bytes += compare.key.length * 3 + compare.value.length + 16;
      for (const op of [...txn.success, ...txn.failure]) {
        if (op.op?.$case === 'put') bytes += op.op.put.key.length * 3 + op.op.put.value.length + 16;
        else if (op.op?.$case === 'delete') bytes += op.op.delete.key.length * 3 + 16;
      }
      return bytes;
    }
  }
}
