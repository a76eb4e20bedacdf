import { resolve } from 'node:path';
import { EnvReader } from '../common/config.js';
import { DEFAULT_METRICS_PORTS, readMetricsSettings, type MetricsSettings } from '../common/metrics-config.js';
import { DEFAULT_FILESERVER_HOST, DEFAULT_FILESERVER_PORT, DEFAULT_IMAGES_DIR, DEFAULT_UPLOAD_DIR } from '../common/defaults.js';

export interface FileserverConfig {
  port: number;
  host: string;
  /** Absolute; uploads land here, staged in `${uploadDir}/.tmp` first. */
  uploadDir: string;
  /** Absolute; source images served at /images for demos and tests. */
  imagesDir: string;
  uploadToken: string;
  maxUploadBytes: number;
  /** Base for returned file URLs, without a trailing slash; undefined = derive from the request. */
  publicUrl: string | undefined;
  /** GET /metrics and /healthz on a port of their own (METRICS_PORT, METRICS_HOST). */
  metrics: MetricsSettings;
}

export const DEFAULT_MAX_UPLOAD_BYTES = 50 * 1024 * 1024;

export function loadFileserverConfig(env: Record<string, string | undefined>): Readonly<FileserverConfig> {
  const read = new EnvReader(env);
  const publicUrl = read.optionalString('PUBLIC_URL');
  if (publicUrl !== undefined) checkPublicUrl(read, publicUrl);
  return read.done({
    port: read.int('PORT', DEFAULT_FILESERVER_PORT, { min: 0, max: 65535 }),
    host: read.string('HOST', DEFAULT_FILESERVER_HOST),
    uploadDir: resolve(read.string('UPLOAD_DIR', DEFAULT_UPLOAD_DIR)),
    imagesDir: resolve(read.string('IMAGES_DIR', DEFAULT_IMAGES_DIR)),
    uploadToken: read.required(
      'UPLOAD_TOKEN',
      'set it to a long random secret shared with the executors, e.g. UPLOAD_TOKEN=$(openssl rand -hex 32)',
    ),
    maxUploadBytes: read.int('MAX_UPLOAD_BYTES', DEFAULT_MAX_UPLOAD_BYTES, { min: 1 }),
    publicUrl: publicUrl?.replace(/\/+$/, ''),
    metrics: readMetricsSettings(read, DEFAULT_METRICS_PORTS.fileserver),
  });
}

function checkPublicUrl(read: EnvReader, text: string): void {
  try {
    const url = new URL(text);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      read.problem(`PUBLIC_URL=${JSON.stringify(text)} must use http: or https:`);
    }
    if (url.search !== '' || url.hash !== '') {
      read.problem(`PUBLIC_URL=${JSON.stringify(text)} must not have a query or fragment`);
    }
  } catch {
    read.problem(`PUBLIC_URL=${JSON.stringify(text)} is not a valid URL`);
  }
}
