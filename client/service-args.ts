/**
 * `service` command lines -> what to do, or one line saying what is wrong. Pure, so every bad
 * input is table-tested: unknown subcommands, N < 0, bad names, both --text and --file.
 */
import { parseArgs } from 'node:util';
import { checkService, SERVICE_DEFAULTS } from '../common/service-def.js';

export type ServiceCommand =
  | { kind: 'start'; name: string; instances: number; text?: string; file?: string; cpus: number; memMb: number; healthPath: string; contentType?: string }
  | { kind: 'list'; json: boolean }
  | { kind: 'scale'; name: string; instances: number }
  | { kind: 'stop'; name: string }
  | { kind: 'help' };

export const SERVICE_USAGE = `usage:
  npm run service -- start NAME --instances N (--text "..." | --file F) [--cpus 0.1] [--mem 64] [--health-path /healthz] [--content-type T]
  npm run service -- list [--json]
  npm run service -- scale NAME N
  npm run service -- stop NAME

A service is a web server that serves its text or file on a port taken from an executor's
offer; the scheduler keeps N healthy instances running. NAME is [a-z0-9-]; N is 0 to 100.
environment: REDIS_URL, QUEUE_NAME`;

export class ServiceUsageError extends Error {}

function count(text: string | undefined, what: string): number {
  if (text === undefined) throw new ServiceUsageError(`${what} is missing`);
  if (!/^-?\d+$/.test(text.trim())) throw new ServiceUsageError(`${what} must be a whole number, got ${JSON.stringify(text)}`);
  return Number(text);
}

function number(text: string | undefined, fallback: number, what: string): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isFinite(n)) throw new ServiceUsageError(`${what} must be a number, got ${JSON.stringify(text)}`);
  return n;
}

function check(fields: Parameters<typeof checkService>[0]): void {
  const problem = checkService(fields);
  if (problem) throw new ServiceUsageError(problem);
}

/** `--instances -1` and `scale NAME -1` must reach the range check, not parseArgs' option syntax. */
function numbersAsValues(args: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--instances' && /^-\d+$/.test(args[i + 1] ?? '')) out.push(`--instances=${args[++i]}`);
    else if (/^-\d+$/.test(a)) return [...out, '--', ...args.slice(i)];
    else out.push(a);
  }
  return out;
}

export function parseServiceArgs(argv: string[]): ServiceCommand {
  const [sub, ...raw] = argv;
  if (sub === undefined || sub === 'help' || sub === '-h' || sub === '--help') return { kind: 'help' };
  const rest = numbersAsValues(raw);
  let parsed;
  try {
    parsed = parseArgs({
      args: rest,
      allowPositionals: true,
      options: {
        instances: { type: 'string' },
        text: { type: 'string' },
        file: { type: 'string' },
        cpus: { type: 'string' },
        mem: { type: 'string' },
        'health-path': { type: 'string' },
        'content-type': { type: 'string' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    throw new ServiceUsageError((err as Error).message.split('\n')[0] ?? 'bad arguments');
  }
  const { values: v, positionals: p } = parsed;
  if (v.help) return { kind: 'help' };
  const extra = (max: number) => {
    if (p.length > max) throw new ServiceUsageError(`unexpected argument ${JSON.stringify(p[max])}`);
  };
  switch (sub) {
    case 'start': {
      extra(1);
      const name = p[0];
      if (name === undefined) throw new ServiceUsageError('start needs a service NAME');
      if (v.text !== undefined && v.file !== undefined) throw new ServiceUsageError('give either --text or --file, not both');
      if (v.text === undefined && v.file === undefined) throw new ServiceUsageError('give what to serve: --text "..." or --file F');
      const instances = count(v.instances, '--instances');
      const cmd: ServiceCommand = {
        kind: 'start',
        name,
        instances,
        cpus: number(v.cpus, SERVICE_DEFAULTS.cpus, '--cpus'),
        memMb: number(v.mem, SERVICE_DEFAULTS.memMb, '--mem'),
        healthPath: v['health-path'] ?? SERVICE_DEFAULTS.healthPath,
      };
      if (v.text !== undefined) cmd.text = v.text;
      if (v.file !== undefined) cmd.file = v.file;
      if (v['content-type'] !== undefined) cmd.contentType = v['content-type'];
      check({ name, instances, cpus: cmd.cpus, memMb: cmd.memMb, healthPath: cmd.healthPath, bodyBytes: v.text === undefined ? 0 : Buffer.byteLength(v.text) });
      return cmd;
    }
    case 'list':
      extra(0);
      return { kind: 'list', json: v.json === true };
    case 'scale': {
      extra(2);
      const name = p[0];
      if (name === undefined) throw new ServiceUsageError('scale needs a service NAME and a count N');
      const instances = count(p[1], 'N');
      check({ name, instances, cpus: 1, memMb: 64, healthPath: '/', bodyBytes: 0 });
      return { kind: 'scale', name, instances };
    }
    case 'stop': {
      extra(1);
      const name = p[0];
      if (name === undefined) throw new ServiceUsageError('stop needs a service NAME');
      check({ name, instances: 0, cpus: 1, memMb: 64, healthPath: '/', bodyBytes: 0 });
      return { kind: 'stop', name };
    }
    default:
      throw new ServiceUsageError(`unknown command ${JSON.stringify(sub)}: use start, list, scale or stop`);
  }
}
