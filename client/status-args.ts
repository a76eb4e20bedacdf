/**
 * `status` command lines -> options, or one line saying what is wrong. Pure and table-tested.
 * `--watch` takes an optional number of seconds, which node:util parseArgs cannot express.
 */
import { queueNameProblem } from '../common/queue-name.js';

export interface StatusOptions {
  kind: 'status';
  json: boolean;
  /** Seconds between refreshes; undefined = print once. */
  watchSeconds?: number;
  queueName?: string;
}

export type StatusCommand = StatusOptions | { kind: 'help' };

export const DEFAULT_WATCH_SECONDS = 2;

export const STATUS_USAGE = `usage: npm run status -- [--watch [SECONDS]] [--json] [--queue NAME]

Shows the queue's job counts (waiting, active, delayed, paused, completed, failed), the leading
scheduler and its standbys, executors with their resources and running tasks, offers, services,
and the last failures, from what the leading scheduler publishes in Redis (works from any machine).

  --watch [SECONDS]  refresh every SECONDS (default ${DEFAULT_WATCH_SECONDS}) until Ctrl-C
  --json             print the snapshot as JSON (with --watch: one JSON document per line)
  --queue NAME       the queue to show (default: QUEUE_NAME, else "images")
  --help             this text
environment: REDIS_URL, QUEUE_NAME`;

export class StatusUsageError extends Error {}

export function parseStatusArgs(argv: readonly string[]): StatusCommand {
  const out: StatusOptions = { kind: 'status', json: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const [flag, inline] = arg.startsWith('--') && arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    switch (flag) {
      case '--help':
      case '-h':
        return { kind: 'help' };
      case '--json':
        if (inline !== undefined) throw new StatusUsageError('--json takes no value');
        out.json = true;
        break;
      case '--watch': {
        let text = inline;
        if (text === undefined && argv[i + 1] !== undefined && !argv[i + 1]!.startsWith('-')) text = argv[++i];
        if (text === undefined) {
          out.watchSeconds = DEFAULT_WATCH_SECONDS;
          break;
        }
        const n = Number(text);
        if (!/^\d+(\.\d+)?$/.test(text) || !(n >= 0.2 && n <= 3600)) throw new StatusUsageError(`--watch takes seconds from 0.2 to 3600, got ${JSON.stringify(text)}`);
        out.watchSeconds = n;
        break;
      }
      case '--queue': {
        const name = inline ?? argv[++i];
        if (name === undefined || name === '' || name.startsWith('-')) throw new StatusUsageError('--queue needs a queue name');
        const problem = queueNameProblem(name, '--queue');
        if (problem !== undefined) throw new StatusUsageError(problem);
        out.queueName = name;
        break;
      }
      default:
        throw new StatusUsageError(arg.startsWith('-') ? `unknown option ${JSON.stringify(arg)} (see --help)` : `unexpected argument ${JSON.stringify(arg)} (see --help)`);
    }
  }
  return out;
}
