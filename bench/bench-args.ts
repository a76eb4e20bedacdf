/**
 * Flags of `npm run bench`, parsed and checked in one place. Pure: the entry file prints the
 * usage or the one-line problem and picks the exit code.
 */
import { parseArgs } from 'node:util';

export const RUN_IDS = ['a', 'b', 'c', 'd'] as const;
export type RunId = (typeof RUN_IDS)[number];

export interface BenchArgs {
  /** Directory of source images; undefined = generate `count` synthetic ones. */
  images: string | undefined;
  count: number;
  /** At most this many images of the directory (sorted by name). */
  limit: number;
  /** Every image this many times, in every run. */
  repeat: number;
  /** Executors of the pipeline run (b). */
  executors: number;
  /** Concurrencies tried by the reference runs (c) and (d), ascending. */
  concurrency: number[];
  only: ReadonlySet<RunId>;
  /** compare: runs a-d; dispatch: the offer layer alone (dry-run executors); mixed: small and huge images under a memory budget. */
  mode: 'compare' | 'dispatch' | 'mixed';
  /** Jobs dispatched by --dispatch. */
  jobs: number;
  /** Rounds of (b), (c) and (d) in turn; medians are reported. */
  rounds: number;
}

export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export const BENCH_USAGE = `usage: npm run bench -- [options]

Times, on the same images in one run:
  (a) raw sharp: invertImage in memory, availableParallelism() at a time (median of 3)
  (b) the pipeline: BullMQ queue, scheduler, executors, fileserver
  (c) a plain BullMQ Worker pool in one process: the same download, invertImage and upload
  (d) the transport floor: the same download, invertImage and upload, no queue at all
(c) and (d) each run in their own process against their own fileserver process, first once
per --concurrency value to find the fastest; then (b), (c) and (d) run in turn --rounds times
and each one's median run is reported, with the medians of the rounds' own ratios. CPU seconds
per image are printed for every process of (b), (c) and (d).

options:
  --images DIR          images to use (jpg png webp gif tif avif); default: generate --count
  --count N             synthetic images to generate (default 120)
  --limit N             use at most N images of DIR (first N by name)
  --repeat N            process every image N times in every run (default 1)
  --executors N         executors of the pipeline run (b) (default 1)
  --concurrency LIST    concurrencies swept by (c) and (d) (default 2,4,8,16)
  --only LIST           runs to do, of a,b,c,d (default all)
  --rounds N            run (b), (c) and (d) in turn N times and report medians (default 3)
  --dispatch            instead: how many jobs/s the scheduler places, executors finishing
                        them without I/O (a bench-only dry run); prints the scheduler's CPU per job
  --jobs N              jobs for --dispatch (default 20000)
  --mixed               instead: the small images plus a few generated 40-60 Mpx ones, on an
                        executor whose memory budget cannot hold every task at its largest:
                        the pipeline (tasks sized by image) against a worker pool at a fixed
                        concurrency, with peak RSS
  -h, --help            print this and exit

Exits 1 when any image failed in any run, 2 on a bad flag.`;

const DEFAULTS = { count: '120', repeat: '1', executors: '1', concurrency: '2,4,8,16', only: RUN_IDS.join(','), jobs: '20000', rounds: '3' };

function positiveInt(flag: string, text: string, max = 1_000_000): number {
  const value = Number(text);
  if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(value) || value < 1 || value > max) {
    throw new UsageError(`--${flag} must be a whole number from 1 to ${max}, got ${JSON.stringify(text)}`);
  }
  return value;
}

function intList(flag: string, text: string, max: number): number[] {
  const values = text.split(',').map((part) => positiveInt(flag, part, max));
  return [...new Set(values)].sort((x, y) => x - y);
}

function runIds(text: string): Set<RunId> {
  const ids = new Set<RunId>();
  for (const part of text.split(',').map((s) => s.trim().toLowerCase())) {
    if (!(RUN_IDS as readonly string[]).includes(part)) {
      throw new UsageError(`--only takes a comma-separated list of ${RUN_IDS.join(',')}, got ${JSON.stringify(text)}`);
    }
    ids.add(part as RunId);
  }
  return ids;
}

/** node:util's messages, shortened to what a user needs to fix the command line. */
function parseProblem(err: unknown): string {
  const e = err as { code?: unknown; message?: unknown };
  const message = typeof e.message === 'string' ? e.message : String(err);
  const quoted = /'([^']*)'/.exec(message)?.[1];
  switch (e.code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return `unknown option ${quoted ?? message}`;
    case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL':
      return `unexpected argument ${JSON.stringify(quoted ?? message)}`;
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
      return `${(quoted ?? message).replace(/ <value>$/, '')} needs a value`;
    default:
      return message.split('\n', 1)[0] ?? message;
  }
}

/** The flags of argv (without node and the script), or 'help'. Throws UsageError. */
export function parseBenchArgs(argv: readonly string[]): BenchArgs | 'help' {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        help: { type: 'boolean', short: 'h' },
        images: { type: 'string' },
        count: { type: 'string', default: DEFAULTS.count },
        limit: { type: 'string' },
        repeat: { type: 'string', default: DEFAULTS.repeat },
        executors: { type: 'string', default: DEFAULTS.executors },
        concurrency: { type: 'string', default: DEFAULTS.concurrency },
        only: { type: 'string', default: DEFAULTS.only },
        dispatch: { type: 'boolean' },
        mixed: { type: 'boolean' },
        jobs: { type: 'string', default: DEFAULTS.jobs },
        rounds: { type: 'string', default: DEFAULTS.rounds },
      },
    }));
  } catch (err) {
    throw new UsageError(parseProblem(err));
  }
  if (values.help === true) return 'help';
  if (values.images !== undefined && values.images.trim() === '') throw new UsageError('--images needs a directory');
  if (values.dispatch === true && values.mixed === true) throw new UsageError('--dispatch and --mixed are separate runs: give one');
  return {
    mode: values.dispatch === true ? 'dispatch' : values.mixed === true ? 'mixed' : 'compare',
    jobs: positiveInt('jobs', values.jobs, 10_000_000),
    rounds: positiveInt('rounds', values.rounds, 20),
    images: values.images,
    count: positiveInt('count', values.count),
    limit: values.limit === undefined ? Number.POSITIVE_INFINITY : positiveInt('limit', values.limit),
    repeat: positiveInt('repeat', values.repeat, 1000),
    executors: positiveInt('executors', values.executors, 64),
    concurrency: intList('concurrency', values.concurrency, 256),
    only: runIds(values.only),
  };
}
