import { EnvReader } from '../common/config.js';
import { DEFAULT_QUEUE_NAME } from '../common/queue.js';
import type { TaskDemand } from './offer-matching.js';

export interface SchedulerConfig {
  redisUrl: string;
  queueName: string;
  /** Where executors upload results: `${fileserverUrl}/upload`. */
  uploadUrl: string;
  task: TaskDemand;
  maxTasksPerOffer: number;
  refuseSeconds: number;
  lockDurationMs: number;
  stalledIntervalMs: number;
  executorTimeoutMs: number;
  shutdownGraceMs: number;
  revivePollMs: number;
}

export function loadSchedulerConfig(env: Record<string, string | undefined>): Readonly<SchedulerConfig> {
  const r = new EnvReader(env);
  const fileserverUrl = r.url('FILESERVER_URL', 'http://127.0.0.1:8080');
  const config: SchedulerConfig = {
    redisUrl: r.url('REDIS_URL', 'redis://127.0.0.1:6379', ['redis:', 'rediss:']),
    queueName: r.string('QUEUE_NAME', DEFAULT_QUEUE_NAME),
    uploadUrl: new URL('upload', fileserverUrl.endsWith('/') ? fileserverUrl : fileserverUrl + '/').href,
    task: {
      cpus: r.number('TASK_CPUS', 0.5, { min: 0.01, max: 1024 }),
      memMb: r.number('TASK_MEM_MB', 256, { min: 1 }),
      ports: r.int('TASK_PORTS', 0, { min: 0, max: 1000 }),
    },
    maxTasksPerOffer: r.int('MAX_TASKS_PER_OFFER', 64, { min: 1 }),
    refuseSeconds: r.number('REFUSE_SECONDS', 2, { min: 0, max: 3600 }),
    lockDurationMs: r.int('LOCK_DURATION_MS', 30_000, { min: 1000 }),
    stalledIntervalMs: r.int('STALLED_INTERVAL_MS', 30_000, { min: 1000 }),
    executorTimeoutMs: r.int('EXECUTOR_TIMEOUT_MS', 10_000, { min: 500 }),
    shutdownGraceMs: r.int('SHUTDOWN_GRACE_MS', 20_000, { min: 0 }),
    revivePollMs: r.int('REVIVE_POLL_MS', 100, { min: 10 }),
  };
  return r.done(config);
}
