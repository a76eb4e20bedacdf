import { resolve } from 'node:path';
import { EnvReader } from '../common/config.js';
import {
  DEFAULT_EXECUTOR_PORTS,
  DEFAULT_FILESERVER_HOST,
  DEFAULT_IMAGES_DIR,
  DEFAULT_REDIS_URL,
  DEFAULT_UPLOAD_DIR,
} from '../common/defaults.js';
import { readQueueName } from '../common/queue-name.js';
import { PRIVILEGED_PORTS_FLAG } from '../common/port-ranges.js';
import { DEFAULT_METRICS_PORTS, parseMetricsPort } from '../common/metrics-config.js';
import { MAX_METRICS_BASE } from './metrics-ports.js';
import { portSlices } from './port-slices.js';
import { DEFAULT_JOB_POLICY, type JobPolicy } from '../common/queue.js';

export interface StackConfig {
  redisUrl: string;
  queueName: string;
  executors: number;
  /**
   * Scheduler processes. More than one is for leader election (design.md); until schedulers
   * have it, several compete for the same queue and status stream.
   */
  schedulers: number;
  port: number;
  host: string;
  uploadDir: string;
  imagesDir: string;
  jobPolicy: JobPolicy;
  /** PORT was set: use it even when busy (batch otherwise falls back to a free port). */
  portChosen: boolean;
  /** Base for relative lines of a list; undefined = the stack's own /images/. */
  imagesBaseUrl: string | undefined;
  /** undefined = a random token shared by the stack's processes. */
  uploadToken: string | undefined;
  /** Per executor; undefined = the machine's CPUs split across the executors. */
  executorCpus: number | undefined;
  /** Split among the local executors (EXECUTOR_PORTS, default 31000-32000, or none). */
  executorPorts: string;
  /** Executors are named `${prefix}-N`. */
  executorIdPrefix: string;
  /** METRICS_PORT: the base of the stack's metrics ports (stack/metrics-ports.ts), 'free' (0) or 'off'. */
  metricsPort: number | 'free' | 'off';
  /** METRICS_PORT was set (batch otherwise uses free ports, so it never collides with `start`). */
  metricsPortChosen: boolean;
}

/** Settings of `npm start` and `npm run batch`; `defaultPort` 0 means "any free port". */
export function loadStackConfig(env: Record<string, string | undefined>, defaultPort: number): Readonly<StackConfig> {
  const r = new EnvReader(env);
  const config: StackConfig = {
    redisUrl: r.redisUrl('REDIS_URL', DEFAULT_REDIS_URL),
    queueName: readQueueName(r),
    executors: r.int('EXECUTORS', 2, { min: 1, max: 64 }),
    schedulers: r.int('SCHEDULERS', 1, { min: 1, max: 8 }),
    port: r.int('PORT', defaultPort, { min: 0, max: 65535 }),
    host: r.string('HOST', DEFAULT_FILESERVER_HOST),
    uploadDir: resolve(r.string('UPLOAD_DIR', DEFAULT_UPLOAD_DIR)),
    imagesDir: resolve(r.string('IMAGES_DIR', DEFAULT_IMAGES_DIR)),
    jobPolicy: {
      ...DEFAULT_JOB_POLICY,
      attempts: r.int('JOB_ATTEMPTS', DEFAULT_JOB_POLICY.attempts, { min: 1, max: 100 }),
      backoffMs: r.int('JOB_BACKOFF_MS', DEFAULT_JOB_POLICY.backoffMs, { min: 0 }),
    },
    portChosen: r.optionalString('PORT') !== undefined,
    imagesBaseUrl: r.optionalString('IMAGES_BASE_URL') === undefined ? undefined : r.url('IMAGES_BASE_URL', ''),
    uploadToken: r.optionalString('UPLOAD_TOKEN'),
    executorCpus: r.optionalString('EXECUTOR_CPUS') === undefined ? undefined : r.number('EXECUTOR_CPUS', 1, { min: 0.01 }),
    executorPorts: r.string('EXECUTOR_PORTS', DEFAULT_EXECUTOR_PORTS),
    executorIdPrefix: r.string('EXECUTOR_ID', 'executor'),
    metricsPort: stackMetricsPort(r, r.optionalString('METRICS_PORT')),
    metricsPortChosen: r.optionalString('METRICS_PORT') !== undefined,
  };
  try {
    portSlices(config.executorPorts, config.executors, r.bool(PRIVILEGED_PORTS_FLAG, false));
  } catch (err) {
    r.problem((err as Error).message);
  }
  return r.done(config);
}

function stackMetricsPort(r: EnvReader, text: string | undefined): number | 'free' | 'off' {
  const parsed = parseMetricsPort(text, DEFAULT_METRICS_PORTS.scheduler);
  if ('problem' in parsed) {
    r.problem(parsed.problem);
    return 'off';
  }
  if (parsed.port === 0) return 'free';
  if (parsed.port !== 'off' && parsed.port > MAX_METRICS_BASE) r.problem(`METRICS_PORT=${parsed.port} leaves no room for the stack's ports above it: at most ${MAX_METRICS_BASE}`);
  return parsed.port;
}
