/**
 * METRICS_PORT and METRICS_HOST, read the same way by every long-running process. Pure.
 * METRICS_PORT: a port, `0` for any free one (logged), or `off` for no metrics server.
 */
import type { EnvReader } from './config.js';

export type MetricsPort = number | 'off';

export interface MetricsSettings {
  port: MetricsPort;
  host: string;
}

export const DEFAULT_METRICS_PORTS = { scheduler: 9464, executor: 9465, fileserver: 9466 } as const;
export const DEFAULT_METRICS_HOST = '127.0.0.1';

/** `undefined`/blank -> the fallback; a problem names the setting and what it accepts. */
export function parseMetricsPort(text: string | undefined, fallback: MetricsPort): { port: MetricsPort } | { problem: string } {
  const value = text?.trim() ?? '';
  if (value === '') return { port: fallback };
  if (value.toLowerCase() === 'off') return { port: 'off' };
  if (/^\d+$/.test(value) && Number(value) <= 65535) return { port: Number(value) };
  return { problem: `METRICS_PORT=${JSON.stringify(value)} must be a port (0-65535; 0 = any free port) or "off"` };
}

/** A bind address: an IP or a host name, nothing that would make a URL ambiguous. */
export function parseMetricsHost(text: string | undefined): { host: string } | { problem: string } {
  const value = text?.trim() ?? '';
  if (value === '') return { host: DEFAULT_METRICS_HOST };
  if (/^[A-Za-z0-9.:-]+$/.test(value)) return { host: value };
  return { problem: `METRICS_HOST=${JSON.stringify(value)} must be an address to bind, like 127.0.0.1 or 0.0.0.0` };
}

/** Reads both settings into a process's EnvReader, so their problems join the process's one error. */
export function readMetricsSettings(r: EnvReader, defaultPort: MetricsPort): MetricsSettings {
  const port = parseMetricsPort(r.optionalString('METRICS_PORT'), defaultPort);
  const host = parseMetricsHost(r.optionalString('METRICS_HOST'));
  if ('problem' in port) r.problem(port.problem);
  if ('problem' in host) r.problem(host.problem);
  return { port: 'port' in port ? port.port : defaultPort, host: 'host' in host ? host.host : DEFAULT_METRICS_HOST };
}
