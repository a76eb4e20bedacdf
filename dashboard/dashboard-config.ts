/**
 * Settings of the dashboard process. Bound to loopback by default; any other address is
 * reachable by others, so it must come with DASHBOARD_TOKEN.
 */
import { isIP } from 'node:net';
import { resolve } from 'node:path';
import { EnvReader } from '../common/config.js';
import { DEFAULT_FILESERVER_URL, DEFAULT_REDIS_URL } from '../common/defaults.js';
import { readQueueName } from '../common/queue-name.js';

export const DEFAULT_DASHBOARD_PORT = 8081;
export const DEFAULT_DASHBOARD_HOST = '127.0.0.1';
/** Shortest token accepted: a guessable token on a public port is no protection. */
export const MIN_TOKEN_LENGTH = 16;
export const THUMBNAIL_PX = 160;

export interface DashboardConfig {
  redisUrl: string;
  queueName: string;
  port: number;
  host: string;
  /** Required on a non-loopback host; when set, every request but /healthz needs it. */
  token: string | undefined;
  /** Thumbnails are read from here when set (same machine as the fileserver)... */
  uploadDir: string | undefined;
  /** ...else fetched from `${fileserverUrl}/files/<name>`. */
  fileserverUrl: string;
  thumbnailPx: number;
}

/** 127.0.0.0/8, ::1 and localhost: reachable from this machine only. */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost') return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  if (isIP(h) === 6) return h === '::1' || /^::ffff:127\./.test(h);
  return false;
}

/** `off` (or `0`/`none`) turns the dashboard off under `npm start`; else a port number. */
export function parseDashboardPort(text: string | undefined): number | 'off' | string {
  const t = (text ?? '').trim().toLowerCase();
  if (t === '') return DEFAULT_DASHBOARD_PORT;
  if (t === 'off' || t === 'none' || t === 'false') return 'off';
  const n = Number(t);
  if (!/^\d+$/.test(t) || n < 1 || n > 65535) return `DASHBOARD_PORT=${JSON.stringify(text)} must be a port from 1 to 65535, or off`;
  return n;
}

export function loadDashboardConfig(env: Record<string, string | undefined>): Readonly<DashboardConfig> {
  const read = new EnvReader(env);
  const redisUrl = read.redisUrl('REDIS_URL', DEFAULT_REDIS_URL);
  const queueName = readQueueName(read);
  const portSetting = parseDashboardPort(env.DASHBOARD_PORT);
  let port = DEFAULT_DASHBOARD_PORT;
  if (portSetting === 'off') read.problem('DASHBOARD_PORT=off turns the dashboard off under `npm start`; to run it, give it a port');
  else if (typeof portSetting === 'string') read.problem(portSetting);
  else port = portSetting;
  const host = read.string('DASHBOARD_HOST', DEFAULT_DASHBOARD_HOST);
  const token = read.optionalString('DASHBOARD_TOKEN');
  if (token !== undefined && token.length < MIN_TOKEN_LENGTH) read.problem(`DASHBOARD_TOKEN must be at least ${MIN_TOKEN_LENGTH} characters (e.g. openssl rand -hex 24)`);
  if (!isLoopbackHost(host) && token === undefined) {
    read.problem(`DASHBOARD_HOST=${host} is reachable from other machines: set DASHBOARD_TOKEN (e.g. $(openssl rand -hex 24)), or bind to 127.0.0.1`);
  }
  const uploadDir = read.optionalString('UPLOAD_DIR');
  return read.done({
    redisUrl,
    queueName,
    port,
    host,
    token,
    uploadDir: uploadDir === undefined ? undefined : resolve(uploadDir),
    fileserverUrl: read.url('FILESERVER_URL', DEFAULT_FILESERVER_URL).replace(/\/+$/, ''),
    thumbnailPx: THUMBNAIL_PX,
  });
}
