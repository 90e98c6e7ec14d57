// Error messages leave the process without the names and tokens they quote.
import { SpanStatusCode } from '@opentelemetry/api';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { RedactingSpanExporter, redactMessage } from './redacting-exporter';

describe('redactMessage', () => {
  it('replaces quoted names and fencing tokens, and keeps the shape of the message', () => {
    expect(
      redactMessage('9 FAILED_PRECONDITION: token: owner "worker-7:secret" does not hold lock "jobs/a" under token 12'),
    ).toBe('9 FAILED_PRECONDITION: token: owner "…" does not hold lock "…" under token …');
    expect(redactMessage('fence.token: token 3 is below 41, already applied for the lock')).toBe(
      'fence.token: token … is below …, already applied for the lock',
    );
    expect(redactMessage('key "say \\"hi\\"" belongs to group \'group-b\'')).toBe(
      'key "…" belongs to group \'group-b\'',
    );
  });

  it('leaves a message with nothing to hide as it is', () => {
    const message = 'not committed within 5000 ms; the outcome is unknown';
    expect(redactMessage(message)).toBe(message);
  });
});

describe('RedactingSpanExporter', () => {
  const received = new InMemorySpanExporter();
  const tracer = new BasicTracerProvider({
    spanProcessors: [new SimpleSpanProcessor(new RedactingSpanExporter(received))],
  }).getTracer('test');

  it('exports the status message and grpc.error_message redacted, the rest of the span as it was', () => {
    const span = tracer.startSpan('grpc.lock.v1.Lock/Release', { attributes: { 'rpc.method': 'Release' } });
    const message = 'owner "w-1" does not hold lock "jobs/a" under token 4';
    span.setAttribute('grpc.error_message', message);
    span.setStatus({ code: SpanStatusCode.ERROR, message });
    span.end();
    const [exported] = received.getFinishedSpans();
    expect(exported?.name).toBe('grpc.lock.v1.Lock/Release');
    expect(exported?.spanContext().spanId).toBe(span.spanContext().spanId);
    expect(exported?.attributes).toEqual({
      'rpc.method': 'Release',
      'grpc.error_message': 'owner "…" does not hold lock "…" under token …',
    });
    expect(exported?.status).toEqual({
      code: SpanStatusCode.ERROR,
      message: 'owner "…" does not hold lock "…" under token …',
    });
  });
});
