// A handler's span: ended when the work ends, marked ERROR with the message when it throws.
import { SpanStatusCode } from '@opentelemetry/api';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { inActiveSpan } from './spans';

describe('inActiveSpan', () => {
  const exporter = new InMemorySpanExporter();
  const tracer = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }).getTracer('test');

  beforeEach(() => exporter.reset());

  it('answers what the work answers and ends the span unmarked', async () => {
    expect(await inActiveSpan(tracer, 'svc/Ok', async () => 42)).toBe(42);
    const [span] = exporter.getFinishedSpans();
    expect(span?.name).toBe('svc/Ok');
    expect(span?.status.code).toBe(SpanStatusCode.UNSET);
  });

  it('rethrows what the work throws and marks the span ERROR with its message', async () => {
    await expect(
      inActiveSpan(tracer, 'svc/Fails', async () => {
        throw new Error('no majority');
      }),
    ).rejects.toThrow('no majority');
    const [span] = exporter.getFinishedSpans();
    expect(span?.status).toEqual({ code: SpanStatusCode.ERROR, message: 'no majority' });
  });
});
