import { availableParallelism, hostname, totalmem } from 'node:os';
import { EnvReader } from '../common/config.js';
import { PRIVILEGED_PORTS_FLAG, portSpanProblem } from '../common/port-ranges.js';
import { DEFAULT_METRICS_PORTS, readMetricsSettings, type MetricsSettings } from '../common/metrics-config.js';
import {
  DEFAULT_EXECUTOR_ADVERTISE_HOST,
  DEFAULT_EXECUTOR_PORTS,
  DEFAULT_FILESERVER_URL,
  DEFAULT_REDIS_URL,
} from '../common/defaults.js';
import { readQueueName } from '../common/queue-name.js';
import type { PortRange, Resources } from '../protocol/types.js';
import type { DownloadOptions } from './download.js';

export interface ExecutorConfig {
  redisUrl: string;
  queueName: string;
  executorId: string;
  hostname: string;
  /** Where services launched here bind and are reached (EXECUTOR_ADVERTISE_HOST). */
  advertiseHost: string;
  resources: Resources;
  /** The fileserver's upload endpoint: results go here only, whatever a launch says. */
  uploadUrl: string;
  uploadToken: string;
  uploadTimeoutMs: number;
  uploadRetries: number;
  download: DownloadOptions;
  maxInputPixels: number;
  heartbeatMs: number;
  offerTtlMs: number;
  ackResendMs: number;
  stageUpdateMs: number;
  shutdownAckWaitMs: number;
  /** On SIGTERM, the whole drain (running tasks, acknowledgements) gets this long; then it is abandoned. */
  shutdownGraceMs: number;
  services: { healthIntervalMs: number; startTimeoutMs: number; healthFailures: number };
  /** An inbox read overdue by this much is abandoned and its connection re-made. */
  inboxReadGraceMs: number;
  /** Benchmark only (`bench --dispatch`): finish every image at once, without any I/O. */
  dryRun: boolean;
  /** GET /metrics and /healthz (METRICS_PORT, METRICS_HOST). */
  metrics: MetricsSettings;
}

export { DEFAULT_EXECUTOR_PORTS } from '../common/defaults.js';

function parsePorts(text: string, r: EnvReader): PortRange[] {
  const ranges: PortRange[] = [];
  if (text.trim().toLowerCase() === 'none') return ranges;
  const allowPrivileged = r.bool(PRIVILEGED_PORTS_FLAG, false);
  for (const part of text.split(',').map((s) => s.trim()).filter(Boolean)) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    const span = { begin: Number(m?.[1]), end: Number(m?.[2] ?? m?.[1]) };
    const problem = m ? portSpanProblem(span, allowPrivileged) : 'is not a port or range like 31000-31099';
    if (problem !== undefined) r.problem(`EXECUTOR_PORTS: ${JSON.stringify(part)}: ${problem}`);
    else ranges.push(span);
  }
  return ranges;
}

export function loadExecutorConfig(env: Record<string, string | undefined>): Readonly<ExecutorConfig> {
  const r = new EnvReader(env);
  const fileserverUrl = new URL(r.url('FILESERVER_URL', DEFAULT_FILESERVER_URL));
  const defaultMemMb = Math.min(4096, Math.floor(totalmem() / 2 / 2 ** 20));
  const config: ExecutorConfig = {
    redisUrl: r.redisUrl('REDIS_URL', DEFAULT_REDIS_URL),
    queueName: readQueueName(r),
    executorId: r.string('EXECUTOR_ID', hostname()),
    hostname: hostname(),
    advertiseHost: r.string('EXECUTOR_ADVERTISE_HOST', DEFAULT_EXECUTOR_ADVERTISE_HOST),
    resources: {
      cpus: r.number('EXECUTOR_CPUS', availableParallelism(), { min: 0.01 }),
      memMb: r.number('EXECUTOR_MEM_MB', defaultMemMb, { min: 1 }),
      ports: parsePorts(r.string('EXECUTOR_PORTS', DEFAULT_EXECUTOR_PORTS), r),
    },
    uploadUrl: new URL('upload', fileserverUrl.href.endsWith('/') ? fileserverUrl.href : `${fileserverUrl.href}/`).href,
    uploadToken: r.required('UPLOAD_TOKEN', 'the bearer token the fileserver expects (same value as its UPLOAD_TOKEN)'),
    uploadTimeoutMs: r.int('UPLOAD_TIMEOUT_MS', 30_000, { min: 100 }),
    uploadRetries: r.int('UPLOAD_RETRIES', 2, { min: 0, max: 10 }),
    download: {
      connectTimeoutMs: r.int('DOWNLOAD_CONNECT_TIMEOUT_MS', 5_000, { min: 10 }),
      responseTimeoutMs: r.int('DOWNLOAD_RESPONSE_TIMEOUT_MS', 10_000, { min: 10 }),
      totalTimeoutMs: r.int('DOWNLOAD_TIMEOUT_MS', 30_000, { min: 10 }),
      maxBytes: r.int('MAX_DOWNLOAD_BYTES', 50 * 2 ** 20, { min: 1 }),
      maxRedirects: r.int('MAX_REDIRECTS', 5, { min: 0, max: 20 }),
      minBytesPerSecond: r.int('MIN_DOWNLOAD_BYTES_PER_SEC', 16_384, { min: 0 }),
      // Judging the rate at the first byte would cancel every download, so the grace has a floor.
      rateGraceMs: r.int('DOWNLOAD_RATE_GRACE_MS', 5_000, { min: 100 }),
      policy: {
        allowPrivateNetworks: r.bool('ALLOW_PRIVATE_NETWORKS', false),
        // The fileserver's own /images/ is always a legitimate source, even on a private address.
        allowedHosts: r.list('ALLOWED_SOURCE_HOSTS', [fileserverUrl.host]),
      },
    },
    maxInputPixels: r.int('MAX_INPUT_PIXELS', 100_000_000, { min: 1 }),
    heartbeatMs: r.int('HEARTBEAT_MS', 2_000, { min: 50 }),
    offerTtlMs: r.int('OFFER_TTL_MS', 10_000, { min: 100 }),
    ackResendMs: r.int('ACK_RESEND_MS', 5_000, { min: 50 }),
    stageUpdateMs: r.int('STAGE_UPDATE_MS', 500, { min: 0 }),
    shutdownAckWaitMs: r.int('SHUTDOWN_ACK_WAIT_MS', 10_000, { min: 0 }),
    // Below the 60 s `npm start` gives an executor before SIGKILL.
    shutdownGraceMs: r.int('SHUTDOWN_GRACE_MS', 50_000, { min: 100 }),
    services: {
      healthIntervalMs: r.int('SERVICE_HEALTH_INTERVAL_MS', 2_000, { min: 100 }),
      startTimeoutMs: r.int('SERVICE_START_TIMEOUT_MS', 10_000, { min: 500 }),
      healthFailures: r.int('SERVICE_HEALTH_FAILURES', 3, { min: 1, max: 100 }),
    },
    inboxReadGraceMs: r.int('INBOX_READ_GRACE_MS', 3_000, { min: 100 }),
    dryRun: r.bool('EXECUTOR_DRY_RUN', false),
    metrics: readMetricsSettings(r, DEFAULT_METRICS_PORTS.executor),
  };
  if (/[\s:]/.test(config.executorId) || config.executorId === '') {
    r.problem(`EXECUTOR_ID=${JSON.stringify(config.executorId)} must be a non-empty name without spaces or ":"`);
  }
  return r.done(config);
}
