/**
 * The OpenTelemetry side of common/tracing.ts, imported only when tracing is on: a Node tracer
 * provider (AsyncLocalStorage context, W3C propagation) exporting over OTLP/HTTP in batches,
 * and BullMQ's own spans through bullmq-otel.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  context,
  diag,
  DiagLogLevel,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Context,
  type Span,
} from '@opentelemetry/api';
import { detectResources, envDetector, resourceFromAttributes } from '@opentelemetry/resources';
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  BatchSpanProcessor,
  NodeTracerProvider,
  ParentBasedSampler,
  SamplingDecision,
  TraceIdRatioBasedSampler,
  type Sampler,
  type SpanExporter,
} from '@opentelemetry/sdk-trace-node';
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from '@opentelemetry/semantic-conventions';
import { BullMQOtel } from 'bullmq-otel';
import type { Logger } from './log.js';
import type { SpanAttributes, SpanKindName, SpanOptions, Tracer, TraceSpan, TracingIdentity } from './tracing.js';
import type { SamplerName, TracingConfig } from './tracing-config.js';

const TRACER_NAME = 'offer-invert';
// dist/common/ -> the package root; a missing file only leaves the version out.
const VERSION = ((): string | undefined => {
  try {
    const pkg = JSON.parse(readFileSync(fileURLToPath(new URL('../../package.json', import.meta.url)), 'utf8')) as { version?: unknown };
    return typeof pkg.version === 'string' ? pkg.version : undefined;
  } catch {
    return undefined;
  }
})();
const SHUTDOWN_TIMEOUT_MS = 5_000;
const EXPORT_WARNING_INTERVAL_MS = 60_000;

const KINDS: Record<SpanKindName, SpanKind> = {
  internal: SpanKind.INTERNAL,
  producer: SpanKind.PRODUCER,
  consumer: SpanKind.CONSUMER,
  client: SpanKind.CLIENT,
  server: SpanKind.SERVER,
};

function baseSampler(name: SamplerName, ratio: number): Sampler {
  switch (name) {
    case 'always_on':
      return new AlwaysOnSampler();
    case 'always_off':
      return new AlwaysOffSampler();
    case 'traceidratio':
      return new TraceIdRatioBasedSampler(ratio);
    case 'parentbased_always_on':
      return new ParentBasedSampler({ root: new AlwaysOnSampler() });
    case 'parentbased_always_off':
      return new ParentBasedSampler({ root: new AlwaysOffSampler() });
    case 'parentbased_traceidratio':
      return new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(ratio) });
  }
}

/**
 * BullMQ parents its getNextJob span on the job it fetched; one without a parent is a fetch that
 * found nothing (the scheduler asks on every offer): a one-span trace every few seconds that
 * says nothing. Those are dropped; everything else goes to the configured sampler.
 */
function withoutIdlePolls(inner: Sampler): Sampler {
  return {
    shouldSample(ctx, traceId, spanName, spanKind, attributes, links) {
      if (spanName.startsWith('getNextJob') && trace.getSpanContext(ctx) === undefined) return { decision: SamplingDecision.NOT_RECORD };
      return inner.shouldSample(ctx, traceId, spanName, spanKind, attributes, links);
    },
    toString: () => `WithoutIdlePolls{${inner.toString()}}`,
  };
}

async function exporterFor(config: TracingConfig): Promise<SpanExporter> {
  // Each reads OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT, _HEADERS and _TIMEOUT itself; only the one used is loaded.
  if (config.protocol === 'http/json') {
    const { OTLPTraceExporter } = await import('@opentelemetry/exporter-trace-otlp-http');
    return new OTLPTraceExporter();
  }
  const { OTLPTraceExporter } = await import('@opentelemetry/exporter-trace-otlp-proto');
  return new OTLPTraceExporter();
}

function cleanAttributes(attributes: SpanAttributes | undefined): Attributes {
  const out: Attributes = {};
  for (const [key, value] of Object.entries(attributes ?? {})) if (value !== undefined) out[key] = value;
  return out;
}

function traceparentOf(span: Span): string | undefined {
  if (!span.spanContext().traceId || span.spanContext().traceId === '00000000000000000000000000000000') return undefined;
  const carrier: Record<string, string> = {};
  propagation.inject(trace.setSpan(ROOT_CONTEXT, span), carrier);
  return carrier.traceparent;
}

class OtelSpan implements TraceSpan {
  private ended = false;
  readonly traceparent: string | undefined;

  constructor(readonly span: Span) {
    this.traceparent = traceparentOf(span);
  }

  setAttributes(attributes: SpanAttributes): void {
    this.span.setAttributes(cleanAttributes(attributes));
  }

  end(error?: unknown): void {
    if (this.ended) return;
    this.ended = true;
    if (error !== undefined) {
      const message = error instanceof Error ? error.message : String(error);
      const code = typeof error === 'object' && error !== null && typeof (error as { code?: unknown }).code === 'string' ? (error as { code: string }).code : undefined;
      if (error instanceof Error) this.span.recordException(error);
      if (code !== undefined) this.span.setAttribute('error.type', code);
      this.span.setStatus({ code: SpanStatusCode.ERROR, message });
    }
    this.span.end();
  }
}

/** Routes the SDK's own complaints (a collector that does not answer) to our log, at most one a minute. */
function diagnosticsTo(log: Logger): void {
  let lastWarnMs = 0;
  let suppressed = 0;
  const warn = (message: string, ...args: unknown[]) => {
    const now = Date.now();
    if (now - lastWarnMs < EXPORT_WARNING_INTERVAL_MS) {
      suppressed++;
      return;
    }
    lastWarnMs = now;
    const detail = args.map((a) => (a instanceof Error ? a.message : typeof a === 'string' ? a : JSON.stringify(a))).join(' ');
    log.warn(`tracing: ${message}`, { detail: detail || undefined, suppressed: suppressed || undefined });
    suppressed = 0;
  };
  const quiet = () => undefined;
  diag.setLogger({ error: warn, warn, info: quiet, debug: quiet, verbose: quiet }, DiagLogLevel.WARN);
}

export async function createOtelTracer(config: TracingConfig, identity: TracingIdentity, log: Logger): Promise<Tracer> {
  diagnosticsTo(log);
  // OTEL_RESOURCE_ATTRIBUTES adds to ours; service.name is always ours (OTEL_SERVICE_NAME already in it).
  const resource = detectResources({ detectors: [envDetector] }).merge(
    resourceFromAttributes({
      [ATTR_SERVICE_NAME]: config.serviceName,
      ...(VERSION === undefined ? {} : { [ATTR_SERVICE_VERSION]: VERSION }),
      'service.namespace': 'offer-invert',
      'service.instance.id': identity.instance ?? `${identity.process}-${process.pid}`,
      'process.pid': process.pid,
    }),
  );
  const provider = new NodeTracerProvider({
    resource,
    sampler: withoutIdlePolls(baseSampler(config.sampler, config.ratio)),
    spanProcessors: [new BatchSpanProcessor(await exporterFor(config))],
  });
  // The global provider, AsyncLocalStorage context and W3C propagator: what bullmq-otel relies on.
  provider.register();
  const otel = trace.getTracer(TRACER_NAME, VERSION);

  const parentContext = (opts: SpanOptions): Context => {
    if (opts.root === true) return ROOT_CONTEXT;
    if (opts.parent !== undefined) return propagation.extract(ROOT_CONTEXT, { traceparent: opts.parent });
    return context.active();
  };
  const start = (name: string, opts: SpanOptions = {}) => {
    const span = otel.startSpan(
      name,
      {
        kind: KINDS[opts.kind ?? 'internal'],
        attributes: cleanAttributes(opts.attributes),
        ...(opts.root === true ? { root: true } : {}),
        ...(opts.startTimeMs === undefined ? {} : { startTime: opts.startTimeMs }),
      },
      parentContext(opts),
    );
    return new OtelSpan(span);
  };

  let stopped: Promise<void> | undefined;
  return {
    enabled: true,
    startSpan: start,
    async inSpan(name, opts, fn) {
      const span = start(name, opts);
      try {
        const result = await context.with(trace.setSpan(context.active(), span.span), () => fn(span));
        span.end();
        return result;
      } catch (err) {
        span.end(err);
        throw err;
      }
    },
    bullmq: new BullMQOtel({ tracerName: 'bullmq', ...(VERSION === undefined ? {} : { version: VERSION }) }),
    shutdown: () =>
      (stopped ??= (async () => {
        let timer: NodeJS.Timeout | undefined;
        const late = new Promise<void>((resolve) => (timer = setTimeout(resolve, SHUTDOWN_TIMEOUT_MS)));
        await Promise.race([provider.shutdown().catch((err: unknown) => log.warn('tracing: spans not exported at shutdown', { error: String(err) })), late]);
        clearTimeout(timer);
      })()),
  };
}
