/**
 * The tracing every process uses: a tiny API over OpenTelemetry. Off (the default), every call
 * is a no-op on a shared object and no OpenTelemetry module is even loaded; on (an OTLP endpoint
 * set, common/tracing-config.ts), `startTracing` imports the SDK (common/otel-tracing.ts) lazily.
 * Context crosses processes as a W3C traceparent string: in the job's data, in the protobuf
 * ImageItem, in the upload's HTTP header. One process-wide tracer, like OpenTelemetry's own
 * global API, so the I/O edges reach it without threading it through pure code.
 */
import type { Telemetry } from 'bullmq';
import type { Logger } from './log.js';
import { loadTracingConfig } from './tracing-config.js';

export type SpanAttributes = Record<string, string | number | boolean | undefined>;
export type SpanKindName = 'internal' | 'producer' | 'consumer' | 'client' | 'server';

export interface SpanOptions {
  /** The traceparent of the parent span; without one, the active span (if any) is the parent. */
  parent?: string | undefined;
  /** Starts a new trace even inside another span (each image is its own trace). */
  root?: boolean;
  kind?: SpanKindName;
  attributes?: SpanAttributes;
  /** When the span began, if before this call (epoch ms). */
  startTimeMs?: number;
}

export interface TraceSpan {
  /** This span as a W3C traceparent, for the next process; undefined when not recorded. */
  readonly traceparent: string | undefined;
  setAttributes(attributes: SpanAttributes): void;
  /** Ends the span; an error (or a message) marks it failed. Later calls do nothing. */
  end(error?: unknown): void;
}

export interface Tracer {
  readonly enabled: boolean;
  startSpan(name: string, opts?: SpanOptions): TraceSpan;
  /**
   * Runs `fn` with the span active, so that spans started inside (BullMQ's own) are its
   * children, and ends it with fn's outcome (a throw marks it failed and is rethrown).
   */
  inSpan<T>(name: string, opts: SpanOptions, fn: (span: TraceSpan) => Promise<T>): Promise<T>;
  /** BullMQ's `telemetry` option (bullmq-otel); undefined when off. */
  readonly bullmq: Telemetry | undefined;
  /** Exports what is buffered and stops; bounded, so a dead collector cannot hold up an exit. */
  shutdown(): Promise<void>;
}

const NOOP_SPAN: TraceSpan = Object.freeze({ traceparent: undefined, setAttributes: () => undefined, end: () => undefined });

export const NOOP_TRACER: Tracer = Object.freeze({
  enabled: false,
  startSpan: () => NOOP_SPAN,
  inSpan: <T>(_name: string, _opts: SpanOptions, fn: (span: TraceSpan) => Promise<T>) => fn(NOOP_SPAN),
  bullmq: undefined,
  shutdown: async () => undefined,
});

let current: Tracer = NOOP_TRACER;

/** This process's tracer (the no-op one until startTracing turned tracing on). */
export function tracer(): Tracer {
  return current;
}

export interface TracingIdentity {
  /** The process role: service.name defaults to `offer-invert-<process>`. */
  process: string;
  /** service.instance.id: which one of its kind (an executor's id, a scheduler's). */
  instance?: string;
}

/**
 * Turns tracing on when the environment asks for it, once per process, and returns the tracer
 * (the no-op one when off). Throws ConfigError for unusable settings: the caller reports it as
 * it reports its other configuration.
 */
export async function startTracing(identity: TracingIdentity, log: Logger, env: Record<string, string | undefined> = process.env): Promise<Tracer> {
  if (current.enabled) return current;
  const config = loadTracingConfig(env, identity.process);
  if (config === undefined) return current;
  const { createOtelTracer } = await import('./otel-tracing.js');
  current = await createOtelTracer(config, identity, log);
  log.debug('tracing on', { protocol: config.protocol, service: config.serviceName, sampler: config.sampler });
  return current;
}

/** Flushes and stops tracing; the tracer is the no-op one afterwards. */
export async function stopTracing(): Promise<void> {
  const stopping = current;
  current = NOOP_TRACER;
  await stopping.shutdown();
}
