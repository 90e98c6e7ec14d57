// An operation's trace context inside a batched stream's message
// (common.v1.TraceContext): gRPC metadata names a whole stream, so each
// operation carries its own W3C traceparent. Always W3C, whatever
// propagators the process configured: it is part of the wire contract.
import { status } from '@grpc/grpc-js';
import {
  ROOT_CONTEXT,
  SpanStatusCode,
  TraceFlags,
  diag,
  defaultTextMapGetter,
  defaultTextMapSetter,
  trace,
  type Attributes,
  type Context,
  type Link,
  type Span,
  type SpanKind,
  type SpanContext,
  type Tracer,
} from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import type { commonV1 } from '@bulwark/contracts';
import { BulwarkError } from '@bulwark/errors';
import { codeByKind } from './error-table';

const w3c = new W3CTraceContextPropagator();

/** Whether spanContext is of a sampled trace: only those are carried, linked and followed. */
export function isSampled(spanContext: SpanContext | undefined): spanContext is SpanContext {
  return spanContext !== undefined && (spanContext.traceFlags & TraceFlags.SAMPLED) === TraceFlags.SAMPLED;
}

/** The wire form of span's context; undefined unless its trace is sampled (nothing to follow otherwise). */
export function traceContextOf(span: Span): commonV1.TraceContext | undefined {
  if (!isSampled(span.spanContext())) return undefined;
  const carrier: Record<string, string> = {};
  w3c.inject(trace.setSpan(ROOT_CONTEXT, span), carrier, defaultTextMapSetter);
  const traceparent = carrier['traceparent'];
  return traceparent ? { traceparent, tracestate: carrier['tracestate'] ?? '' } : undefined;
}

/** The remote span a wire trace context names, or undefined when it is absent or malformed. */
export function spanContextFrom(traceContext: commonV1.TraceContext | undefined): SpanContext | undefined {
  if (!traceContext || traceContext.traceparent === '') return undefined;
  const carrier = { traceparent: traceContext.traceparent, tracestate: traceContext.tracestate };
  const spanContext = trace.getSpanContext(w3c.extract(ROOT_CONTEXT, carrier, defaultTextMapGetter));
  return spanContext && trace.isSpanContextValid(spanContext) ? spanContext : undefined;
}

/** A context whose parent is the remote span traceContext names; the root context when there is none. */
export function contextFrom(traceContext: commonV1.TraceContext | undefined): Context {
  const spanContext = spanContextFrom(traceContext);
  return spanContext ? trace.setSpanContext(ROOT_CONTEXT, spanContext) : ROOT_CONTEXT;
}

/** Links to the sampled spans among spanContexts: what a batch span carries. */
export function linksTo(spanContexts: Iterable<SpanContext | undefined>): Link[] {
  const links: Link[] = [];
  for (const spanContext of spanContexts) if (isSampled(spanContext)) links.push({ context: spanContext });
  return links;
}

/** The attributes OpenTelemetry's RPC conventions give a gRPC call's span. */
export function rpcAttributes(service: string, method: string, serverAddress?: string): Attributes {
  const attributes: Attributes = { 'rpc.system': 'grpc', 'rpc.service': service, 'rpc.method': method };
  if (serverAddress !== undefined) {
    const colon = serverAddress.lastIndexOf(':');
    attributes['server.address'] = colon > 0 ? serverAddress.slice(0, colon) : serverAddress;
    if (colon > 0) attributes['server.port'] = Number(serverAddress.slice(colon + 1));
  }
  return attributes;
}

/**
 * Runs a tracing step of code whose failure is fatal (a Ready loop, a
 * runner): a fault in the step is logged through the OpenTelemetry diag
 * logger and the work goes on untraced, with fallback.
 */
export function tracingSafely<T>(step: string, work: () => T, fallback: T): T {
  try {
    return work();
  } catch (error) {
    diag.error(`tracing: ${step} failed`, error);
    return fallback;
  }
}

/** Links a batch span keeps; the SDK is configured to keep as many (@bulwark/telemetry). */
export const batchLinksMax = 1_024;

/**
 * One span for a batch that carried operations of many traces: a root of
 * its own, linked to each sampled operation's span (the first
 * batchLinksMax), so one slow request can be followed into the batch that
 * carried it. None when no operation in it is sampled.
 */
export function startBatchSpan(
  tracer: Tracer,
  name: string,
  kind: SpanKind,
  operations: Iterable<SpanContext | undefined>,
  attributes: Attributes,
): Span | undefined {
  const links = linksTo(operations);
  if (links.length === 0) return undefined;
  const kept = links.length > batchLinksMax ? links.slice(0, batchLinksMax) : links;
  return tracer.startSpan(
    name,
    {
      kind,
      links: kept,
      root: true,
      attributes: {
        ...attributes,
        'bulwark.batch.operations': links.length,
        ...(kept.length < links.length ? { 'bulwark.batch.links_dropped': links.length - kept.length } : {}),
      },
    },
    ROOT_CONTEXT,
  );
}

/**
 * Ends an RPC span with its outcome: the gRPC status code as
 * `rpc.grpc.status_code`, and ERROR with the message when it failed (the
 * exporter redacts the names and tokens a message quotes).
 */
export function endRpcSpan(span: Span, error?: unknown): void {
  if (error === undefined) endRpcSpanWithStatus(span, status.OK, '');
  else if (error instanceof BulwarkError) endRpcSpanWithStatus(span, codeByKind[error.kind], error.message);
  else endRpcSpanWithStatus(span, status.INTERNAL, error instanceof Error ? error.message : String(error));
}

/** endRpcSpan for an outcome already a status (an operation's result in a batch). */
export function endRpcSpanWithStatus(span: Span, code: number, message: string): void {
  span.setAttribute('rpc.grpc.status_code', code);
  if (code !== status.OK) span.setStatus({ code: SpanStatusCode.ERROR, message });
  span.end();
}
