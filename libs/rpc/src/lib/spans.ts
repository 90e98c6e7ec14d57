// A served call as one span: what every service does around its handlers.
import { SpanStatusCode, type Span, type Tracer } from '@opentelemetry/api';

/** Runs work in a new active span named name; a throw marks the span ERROR with its message. The span ends either way. */
export function inActiveSpan<T>(tracer: Tracer, name: string, work: (span: Span) => Promise<T>): Promise<T> {
  return tracer.startActiveSpan(name, async (span: Span) => {
    try {
      return await work(span);
    } catch (error) {
      span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
      throw error;
    } finally {
      span.end();
    }
  });
}
