/**
 * A service as its users declare it (Marathon's app definition, in small): desired state kept
 * in Redis (common/keys.ts `services`), which the leading scheduler keeps true. Pure: parsing,
 * checking and the instance resources.
 */
import { createHash } from 'node:crypto';

export const SERVICE_NAME = /^[a-z0-9][a-z0-9-]{0,62}$/;
/** Bodies are stored with the definition and sent with every launch. */
export const MAX_SERVICE_BODY_BYTES = 1024 * 1024;
export const MAX_INSTANCES = 100;

export interface ServiceDef {
  name: string;
  instances: number;
  /** What every instance serves, base64 in Redis. */
  body: Buffer;
  contentType: string;
  cpus: number;
  memMb: number;
  /** Answered 200 by every instance; the executor checks it before reporting RUNNING. */
  healthPath: string;
  createdAtMs: number;
  updatedAtMs: number;
}

/** What an instance serves, as a short hash: scaling does not change it, a new body does. */
export function serviceVersion(s: Pick<ServiceDef, 'body' | 'contentType' | 'cpus' | 'memMb' | 'healthPath'>): string {
  return createHash('sha256').update(s.body).update(`\n${s.contentType}\n${s.cpus}\n${s.memMb}\n${s.healthPath}`).digest('hex').slice(0, 16);
}

export const SERVICE_DEFAULTS = { cpus: 0.1, memMb: 64, healthPath: '/healthz' } as const;

interface StoredService extends Omit<ServiceDef, 'body'> {
  body: string;
}

export function serializeService(s: ServiceDef): string {
  const stored: StoredService = { ...s, body: s.body.toString('base64') };
  return JSON.stringify(stored);
}

/** Reads a stored definition; undefined (and the reason) when it is not one. */
export function parseService(text: string): { service?: ServiceDef; problem?: string } {
  let raw: Partial<StoredService>;
  try {
    raw = JSON.parse(text) as Partial<StoredService>;
  } catch {
    return { problem: 'not JSON' };
  }
  const problem = checkService({
    name: raw.name,
    instances: raw.instances,
    cpus: raw.cpus,
    memMb: raw.memMb,
    healthPath: raw.healthPath,
    bodyBytes: typeof raw.body === 'string' ? Buffer.byteLength(raw.body, 'base64') : -1,
  });
  if (problem) return { problem };
  return {
    service: {
      name: raw.name!,
      instances: raw.instances!,
      body: Buffer.from(raw.body!, 'base64'),
      contentType: typeof raw.contentType === 'string' ? raw.contentType : 'text/plain; charset=utf-8',
      cpus: raw.cpus!,
      memMb: raw.memMb!,
      healthPath: raw.healthPath!,
      createdAtMs: Number(raw.createdAtMs) || 0,
      updatedAtMs: Number(raw.updatedAtMs) || 0,
    },
  };
}

export interface ServiceFields {
  name: unknown;
  instances: unknown;
  cpus: unknown;
  memMb: unknown;
  healthPath: unknown;
  bodyBytes: number;
}

/** What is wrong with a definition, in one line, or undefined. */
export function checkService(f: ServiceFields): string | undefined {
  if (typeof f.name !== 'string' || !SERVICE_NAME.test(f.name)) {
    return `service name ${JSON.stringify(f.name)} must be 1-63 characters of [a-z0-9-], starting with a letter or digit`;
  }
  if (typeof f.instances !== 'number' || !Number.isInteger(f.instances) || f.instances < 0 || f.instances > MAX_INSTANCES) {
    return `instances must be a whole number from 0 to ${MAX_INSTANCES}, got ${JSON.stringify(f.instances)}`;
  }
  if (typeof f.cpus !== 'number' || !(f.cpus > 0) || f.cpus > 64) return `cpus must be above 0 and at most 64, got ${JSON.stringify(f.cpus)}`;
  if (typeof f.memMb !== 'number' || !(f.memMb >= 8) || f.memMb > 65536) return `memory must be 8 to 65536 MB, got ${JSON.stringify(f.memMb)}`;
  if (typeof f.healthPath !== 'string' || !/^\/[\x21-\x7e]{0,200}$/.test(f.healthPath)) {
    return `the health-check path must start with "/" and be printable, got ${JSON.stringify(f.healthPath)}`;
  }
  if (f.bodyBytes < 0) return 'the service has no body';
  if (f.bodyBytes > MAX_SERVICE_BODY_BYTES) return `what a service serves is limited to ${MAX_SERVICE_BODY_BYTES} bytes, got ${f.bodyBytes}`;
  return undefined;
}
