/**
 * `--help` for the long-running processes (`npm run scheduler|executor|fileserver`, or
 * `node dist/<proc>/main.js`): what the process does and the settings it reads, printed before
 * any config is loaded or connection opened. Meanings and defaults: docs/configuration.md.
 */
export type ProcessName = 'scheduler' | 'executor' | 'fileserver' | 'dashboard';

const COMMON = ['REDIS_URL', 'QUEUE_NAME', 'LOG_LEVEL'];

export const PROCESS_HELP: Readonly<Record<ProcessName, { what: string; settings: readonly string[] }>> = {
  scheduler: {
    what: 'takes jobs from the queue and places them as tasks on executor offers (one leader, standbys wait)',
    settings: [
      ...COMMON, 'SCHEDULER_ID', 'FILESERVER_URL', 'LOCK_DURATION_MS', 'LEASE_TTL_MS', 'TASK_CPUS', 'TASK_MEM_MB', 'TASK_PORTS',
      'TASK_IMAGES_MAX', 'TASK_TARGET_MS', 'MAX_TASKS_PER_OFFER', 'REFUSE_SECONDS', 'EXECUTOR_TIMEOUT_MS', 'REVIVE_POLL_MS',
      'RECONCILE_TIMEOUT_MS', 'STALLED_INTERVAL_MS', 'HOST_MAX_CONCURRENCY', 'HOST_FAILURE_THRESHOLD', 'HOST_OPEN_MS',
      'HOST_OPEN_MAX_MS', 'HOST_GIVE_UP_MS', 'SERVICE_SHARE', 'SERVICE_SPREAD_WAIT_MS', 'SHUTDOWN_GRACE_MS', 'METRICS_PORT',
      'METRICS_HOST',
    ],
  },
  executor: {
    what: 'offers its cpus, memory and ports to the scheduler and runs the tasks it launches (download, invert, upload)',
    settings: [
      ...COMMON, 'EXECUTOR_ID', 'EXECUTOR_ADVERTISE_HOST', 'EXECUTOR_CPUS', 'EXECUTOR_MEM_MB', 'EXECUTOR_PORTS', 'FILESERVER_URL',
      'UPLOAD_TOKEN', 'UPLOAD_TIMEOUT_MS', 'UPLOAD_RETRIES', 'DOWNLOAD_CONNECT_TIMEOUT_MS', 'DOWNLOAD_RESPONSE_TIMEOUT_MS',
      'DOWNLOAD_TIMEOUT_MS', 'MAX_DOWNLOAD_BYTES', 'MAX_REDIRECTS', 'MIN_DOWNLOAD_BYTES_PER_SEC', 'DOWNLOAD_RATE_GRACE_MS',
      'ALLOW_PRIVATE_NETWORKS', 'ALLOWED_SOURCE_HOSTS', 'MAX_INPUT_PIXELS', 'HEARTBEAT_MS', 'OFFER_TTL_MS', 'ACK_RESEND_MS',
      'STAGE_UPDATE_MS', 'SHUTDOWN_ACK_WAIT_MS', 'SERVICE_HEALTH_INTERVAL_MS', 'SERVICE_START_TIMEOUT_MS',
      'SERVICE_HEALTH_FAILURES', 'INBOX_READ_GRACE_MS', 'SHUTDOWN_GRACE_MS', 'EXECUTOR_DRY_RUN', 'METRICS_PORT', 'METRICS_HOST',
    ],
  },
  fileserver: {
    what: 'serves images (/images/), accepts inverted uploads (POST /upload, bearer token) and serves them (/files/)',
    settings: ['LOG_LEVEL', 'PORT', 'HOST', 'PUBLIC_URL', 'UPLOAD_DIR', 'IMAGES_DIR', 'UPLOAD_TOKEN', 'MAX_UPLOAD_BYTES', 'METRICS_PORT', 'METRICS_HOST'],
  },
  dashboard: {
    what: 'web view of the cluster (/), bull-board for the queue (/queues) and /api/cluster, on localhost unless given a token',
    settings: [...COMMON, 'DASHBOARD_PORT', 'DASHBOARD_HOST', 'DASHBOARD_TOKEN', 'FILESERVER_URL', 'UPLOAD_DIR'],
  },
};

/** Pure: the help text, or the one-line problem for arguments the process does not take. */
export function processArgsVerdict(name: ProcessName, argv: readonly string[]): { exitCode: 0 | 2; text: string } | undefined {
  if (argv.length === 0) return undefined;
  if (argv.includes('--help') || argv.includes('-h')) {
    const { what, settings } = PROCESS_HELP[name];
    const lines = [`usage: npm run ${name}   (node dist/${name}/main.js): ${what}`, '', 'settings (environment; meanings and defaults in docs/configuration.md):'];
    for (let i = 0; i < settings.length; i += 4) lines.push(`  ${settings.slice(i, i + 4).join('  ')}`);
    return { exitCode: 0, text: lines.join('\n') };
  }
  return { exitCode: 2, text: `${name}: unexpected argument ${JSON.stringify(argv[0])}: settings come from the environment (see --help)` };
}

/** For main.ts: answers --help (exit 0) or a stray argument (exit 2) before anything starts. */
export function exitOnProcessArgs(name: ProcessName, argv: readonly string[] = process.argv.slice(2)): void {
  const verdict = processArgsVerdict(name, argv);
  if (verdict === undefined) return;
  (verdict.exitCode === 0 ? process.stdout : process.stderr).write(`${verdict.text}\n`);
  process.exit(verdict.exitCode);
}
