import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { EnvReader } from '../common/config.js';
import { DEFAULT_METRICS_PORTS, readMetricsSettings, type MetricsSettings } from '../common/metrics-config.js';
import { DEFAULT_FILESERVER_URL, DEFAULT_REDIS_URL } from '../common/defaults.js';
import { readQueueName } from '../common/queue-name.js';
import { DEFAULT_CIRCUIT_OPTIONS, type CircuitOptions } from './host-circuits.js';
import type { LeaderOptions } from './leader-context.js';

export interface SchedulerConfig extends LeaderOptions {
  redisUrl: string;
  queueName: string;
  /** This instance's name: its stream consumer and the holder written in the lease. */
  schedulerId: string;
  /** A killed leader is replaced within about this long. */
  leaseTtlMs: number;
  circuits: CircuitOptions;
  /** Longest a SIGTERM's handover may take (with Redis away it cannot finish). */
  shutdownGraceMs: number;
  /** GET /metrics and /healthz (METRICS_PORT, METRICS_HOST). */
  metrics: MetricsSettings;
}

export function loadSchedulerConfig(env: Record<string, string | undefined>): Readonly<SchedulerConfig> {
  const r = new EnvReader(env);
  // FILESERVER_URL used to tell executors where to upload; executors now use their own setting.
  // Still read, so a bad value is reported rather than ignored.
  r.url('FILESERVER_URL', DEFAULT_FILESERVER_URL);
  const lockDurationMs = r.int('LOCK_DURATION_MS', 30_000, { min: 1000 });
  const leaseTtlMs = r.int('LEASE_TTL_MS', 5_000, { min: 500, max: 600_000 });
  const config: SchedulerConfig = {
    redisUrl: r.redisUrl('REDIS_URL', DEFAULT_REDIS_URL),
    queueName: readQueueName(r),
    schedulerId: r.string('SCHEDULER_ID', `${hostname()}-${process.pid}-${randomBytes(2).toString('hex')}`),
    leaseTtlMs,
    task: {
      cpus: r.number('TASK_CPUS', 0.5, { min: 0.01, max: 1024 }),
      memMb: r.number('TASK_MEM_MB', 256, { min: 1 }),
      ports: r.int('TASK_PORTS', 0, { min: 0, max: 1000 }),
    },
    maxTasksPerOffer: r.int('MAX_TASKS_PER_OFFER', 64, { min: 1 }),
    refuseSeconds: r.number('REFUSE_SECONDS', 2, { min: 0, max: 3600 }),
    lockDurationMs,
    executorTimeoutMs: r.int('EXECUTOR_TIMEOUT_MS', 10_000, { min: 500 }),
    revivePollMs: r.int('REVIVE_POLL_MS', 100, { min: 10 }),
    reconcileTimeoutMs: r.int('RECONCILE_TIMEOUT_MS', 5_000, { min: 100 }),
    sweepIntervalMs: r.int('STALLED_INTERVAL_MS', 5_000, { min: 200 }),
    hostMaxConcurrency: r.int('HOST_MAX_CONCURRENCY', 32, { min: 1 }),
    taskImages: {
      maxImages: r.int('TASK_IMAGES_MAX', 64, { min: 1, max: 64 }),
      targetTaskMs: r.int('TASK_TARGET_MS', 250, { min: 1 }),
    },
    serviceShare: r.number('SERVICE_SHARE', 0.5, { min: 0, max: 1 }),
    serviceSpreadWaitMs: r.int('SERVICE_SPREAD_WAIT_MS', 5_000, { min: 0 }),
    circuits: {
      failureThreshold: r.int('HOST_FAILURE_THRESHOLD', DEFAULT_CIRCUIT_OPTIONS.failureThreshold, { min: 1 }),
      openBaseMs: r.int('HOST_OPEN_MS', DEFAULT_CIRCUIT_OPTIONS.openBaseMs, { min: 10 }),
      openMaxMs: r.int('HOST_OPEN_MAX_MS', DEFAULT_CIRCUIT_OPTIONS.openMaxMs, { min: 10 }),
      giveUpAfterMs: r.int('HOST_GIVE_UP_MS', DEFAULT_CIRCUIT_OPTIONS.giveUpAfterMs, { min: 0 }),
    },
    shutdownGraceMs: r.int('SHUTDOWN_GRACE_MS', 20_000, { min: 100 }),
    metrics: readMetricsSettings(r, DEFAULT_METRICS_PORTS.scheduler),
  };
  if (/\s/.test(config.schedulerId)) r.problem(`SCHEDULER_ID=${JSON.stringify(config.schedulerId)} must not contain whitespace`);
  if (config.leaseTtlMs >= lockDurationMs) {
    r.problem(`LEASE_TTL_MS=${leaseTtlMs} must be below LOCK_DURATION_MS=${lockDurationMs}: a new leader must take over before the jobs' locks run out`);
  }
  return r.done(config);
}
