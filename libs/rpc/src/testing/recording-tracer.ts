// What the tracing specs share: a tracer whose ended spans are kept for
// assertions, and the AsyncLocalStorage context manager the Node SDK
// installs, so context.with() reaches across awaits as in a service.
import { context } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
  type ReadableSpan,
  type SpanLimits,
} from '@opentelemetry/sdk-trace-base';
import type { Tracer } from '@opentelemetry/api';

export class RecordingTracer {
  readonly exporter = new InMemorySpanExporter();
  readonly tracer: Tracer;

  constructor(spanLimits?: SpanLimits) {
    this.tracer = new BasicTracerProvider({
      spanProcessors: [new SimpleSpanProcessor(this.exporter)],
      ...(spanLimits ? { spanLimits } : {}),
    }).getTracer('test');
  }

  /** Ended spans, in the order they ended; only those named `name` when given. */
  finished(name?: string): ReadableSpan[] {
    const spans = this.exporter.getFinishedSpans();
    return name === undefined ? spans : spans.filter((span) => span.name === name);
  }
}

/** Installs the AsyncLocalStorage context manager for a spec; returns what removes it. */
export function enableAsyncContext(): () => void {
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  return () => context.disable();
}
