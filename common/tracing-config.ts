/**
 * Whether this process traces, read from the standard OpenTelemetry variables. Pure: the SDK is
 * loaded only when this says so (common/tracing.ts). Tracing is off unless an OTLP endpoint is
 * set, so a stack nobody configured for it pays nothing.
 */
import { ConfigError } from './config.js';

export type OtlpProtocol = 'http/protobuf' | 'http/json';

export const SAMPLERS = ['always_on', 'always_off', 'traceidratio', 'parentbased_always_on', 'parentbased_always_off', 'parentbased_traceidratio'] as const;
export type SamplerName = (typeof SAMPLERS)[number];

export interface TracingConfig {
  protocol: OtlpProtocol;
  /** OTEL_SERVICE_NAME, or `offer-invert-<process>`. */
  serviceName: string;
  sampler: SamplerName;
  /** For the ratio samplers (OTEL_TRACES_SAMPLER_ARG, default 1). */
  ratio: number;
}

const PROTOCOLS: readonly string[] = ['http/protobuf', 'http/json'];

/**
 * undefined = tracing off: no endpoint (OTEL_EXPORTER_OTLP_ENDPOINT or its _TRACES_ form), or
 * OTEL_SDK_DISABLED=true, or OTEL_TRACES_EXPORTER=none. Throws ConfigError listing every problem.
 */
export function loadTracingConfig(env: Record<string, string | undefined>, process: string): TracingConfig | undefined {
  const get = (name: string) => {
    const v = env[name]?.trim();
    return v === undefined || v === '' ? undefined : v;
  };
  if (get('OTEL_SDK_DISABLED')?.toLowerCase() === 'true') return undefined;
  const endpoint = get('OTEL_EXPORTER_OTLP_TRACES_ENDPOINT') ?? get('OTEL_EXPORTER_OTLP_ENDPOINT');
  if (endpoint === undefined) return undefined;
  const problems: string[] = [];
  const exporter = get('OTEL_TRACES_EXPORTER')?.toLowerCase();
  if (exporter === 'none') return undefined;
  if (exporter !== undefined && exporter !== 'otlp') problems.push(`OTEL_TRACES_EXPORTER=${JSON.stringify(exporter)}: only "otlp" (or "none") is supported`);
  if (!/^https?:\/\//i.test(endpoint)) problems.push(`OTLP endpoint ${JSON.stringify(endpoint)} is not an http(s) URL (e.g. http://127.0.0.1:4318)`);
  // The spec's default protocol is http/protobuf; grpc would need another exporter we do not ship.
  const protocol = get('OTEL_EXPORTER_OTLP_TRACES_PROTOCOL') ?? get('OTEL_EXPORTER_OTLP_PROTOCOL') ?? 'http/protobuf';
  if (!PROTOCOLS.includes(protocol)) problems.push(`OTEL_EXPORTER_OTLP_PROTOCOL=${JSON.stringify(protocol)}: use "http/protobuf" or "http/json" (grpc is not supported)`);
  const sampler = (get('OTEL_TRACES_SAMPLER') ?? 'parentbased_always_on').toLowerCase();
  if (!(SAMPLERS as readonly string[]).includes(sampler)) problems.push(`OTEL_TRACES_SAMPLER=${JSON.stringify(sampler)}: use one of ${SAMPLERS.join(', ')}`);
  const ratioText = get('OTEL_TRACES_SAMPLER_ARG');
  const ratio = ratioText === undefined ? 1 : Number(ratioText);
  if (!Number.isFinite(ratio) || ratio < 0 || ratio > 1) problems.push(`OTEL_TRACES_SAMPLER_ARG=${JSON.stringify(ratioText)}: a ratio from 0 to 1`);
  if (problems.length > 0) throw new ConfigError(problems);
  return { protocol: protocol as OtlpProtocol, serviceName: get('OTEL_SERVICE_NAME') ?? `offer-invert-${process}`, sampler: sampler as SamplerName, ratio };
}

/**
 * The OTEL_SERVICE_NAME a launcher gives one of its children: a stack started from one
 * environment still shows its processes apart (`invert-scheduler`, `invert-executor`), and
 * without a name each process picks its own default.
 */
export function childServiceName(env: Record<string, string | undefined>, role: string): Record<string, string> {
  const base = env.OTEL_SERVICE_NAME?.trim();
  return base ? { OTEL_SERVICE_NAME: `${base}-${role}` } : {};
}

const TRACEPARENT = /^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/;

/** A W3C traceparent as it may travel in job data and on the wire; anything else is dropped, never trusted. */
export function isTraceparent(value: unknown): value is string {
  return typeof value === 'string' && TRACEPARENT.test(value) && !/^[0-9a-f]{2}-0{32}-/.test(value) && !/-0{16}-[0-9a-f]{2}$/.test(value);
}
