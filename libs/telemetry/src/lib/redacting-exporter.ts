// What leaves the process: error messages name fields and show what was
// refused ('owner "x" does not hold lock "y" under token 7'), and the gRPC
// instrumentation copies them into span status and `grpc.error_message`.
// Quoted names (keys, lock names, owners) and fencing tokens are not for a
// tracing backend: whoever knows an owner and its token may release its
// lock. They are replaced before export; the message's shape stays.
import type { ExportResult } from '@opentelemetry/core';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';
import type { Attributes, SpanStatus } from '@opentelemetry/api';

const quoted = /"(?:[^"\\]|\\.)*"/g;
const tokenNumbers = /\b(token|tokens|below|above)(\s+)\d+/gi;
const redacted = '…';
/** Attributes that carry an error's message. */
const messageAttributes = ['grpc.error_message', 'exception.message'];

/** message with every quoted string and fencing-token number replaced by "…". */
export function redactMessage(message: string): string {
  return message.replace(quoted, `"${redacted}"`).replace(tokenNumbers, `$1$2${redacted}`);
}

function redactedAttributes(attributes: Attributes): Attributes | undefined {
  let copy: Attributes | undefined;
  for (const key of messageAttributes) {
    const value = attributes[key];
    if (typeof value !== 'string') continue;
    const clean = redactMessage(value);
    if (clean === value) continue;
    copy ??= { ...attributes };
    copy[key] = clean;
  }
  return copy;
}

/** span as exported: its own object untouched, a view with the messages redacted when any needs it. */
export function redactSpan(span: ReadableSpan): ReadableSpan {
  const attributes = redactedAttributes(span.attributes);
  const message = span.status.message;
  const status: SpanStatus | undefined =
    message !== undefined && redactMessage(message) !== message
      ? { ...span.status, message: redactMessage(message) }
      : undefined;
  if (!attributes && !status) return span;
  const overrides: PropertyDescriptorMap = {};
  if (attributes) overrides['attributes'] = { value: attributes, enumerable: true };
  if (status) overrides['status'] = { value: status, enumerable: true };
  return Object.create(span, overrides) as ReadableSpan;
}

export class RedactingSpanExporter implements SpanExporter {
  constructor(private readonly delegate: SpanExporter) {}

  export(spans: ReadableSpan[], resultCallback: (result: ExportResult) => void): void {
    this.delegate.export(spans.map(redactSpan), resultCallback);
  }

  shutdown(): Promise<void> {
    return this.delegate.shutdown();
  }

  forceFlush(): Promise<void> {
    return this.delegate.forceFlush?.() ?? Promise.resolve();
  }
}
