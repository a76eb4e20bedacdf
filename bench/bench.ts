/**
 * `npm run bench [-- --help]`
 *
 * In one run, on the same images: (a) raw sharp inversion in memory with the machine's
 * parallelism; (b) the full pipeline (queue, scheduler, executors, fileserver serving the
 * sources, uploads); and two references for it: (c) a plain BullMQ Worker pool in one process
 * and (d) the transport floor (download, invert, upload with no queue), both doing the
 * executors' own work against the same fileserver, swept over concurrencies. Prints images/s,
 * megapixels/s, p50/p95 latency, the ratios, and the CPU each process spent per image.
 */
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { availableParallelism, cpus, tmpdir, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import sharp from 'sharp';
import { createLogger } from '../common/log.js';
import { redisAnswers } from '../common/redis.js';
import { invertImage } from '../executor/invert.js';
import { redisServerOnPath, startPrivateRedis, type PrivateRedis } from '../stack/private-redis.js';
import { BENCH_USAGE, parseBenchArgs, UsageError, type BenchArgs, type RunId } from './bench-args.js';
import { dispatchReport, runDispatch } from './dispatch-run.js';
import { runMixed } from './mixed-run.js';
import { runPipeline } from './pipeline-run.js';
import { runTransportFloor, runWorkerPool, sweep, type ReferenceContext, type ReferenceRun } from './reference-runs.js';
import { cpuTable, failureLines, medianRun, roundRatios, runsTable, sweepLine, type LabelledRun } from './report.js';
import { loadImages, MAX_PIXELS, type SourceImage } from './source-images.js';
import { summarize, type RunResult } from './stats.js';
import { writeSyntheticImages } from './synthetic-images.js';
import { DEFAULT_REDIS_URL } from '../common/defaults.js';

const log = createLogger({ proc: 'bench' }, 'warn');
const parallelism = availableParallelism();
/** What every process of (b), (c) and (d) gets on top of the inherited environment. */
const CHILD_ENV = { LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn', MAX_INPUT_PIXELS: String(MAX_PIXELS) };

function usageExit(message: string): never {
  console.error(`bench: ${message} (npm run bench -- --help for usage)`);
  process.exit(2);
}

function readArgs(): BenchArgs {
  try {
    const parsed = parseBenchArgs(process.argv.slice(2));
    if (parsed !== 'help') return parsed;
    console.log(BENCH_USAGE);
    process.exit(0);
  } catch (err) {
    if (err instanceof UsageError) usageExit(err.message);
    throw err;
  }
}

/** (a) Raw sharp: the same inversion the executors run, `parallelism` images at a time, all in memory. */
async function runRaw(images: SourceImage[]): Promise<RunResult> {
  const latencies: number[] = [];
  let next = 0;
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  await Promise.all(
    Array.from({ length: parallelism }, async () => {
      while (next < images.length) {
        const image = images[next++]!;
        const t0 = performance.now();
        await invertImage(image.data, { maxPixels: MAX_PIXELS });
        latencies.push(performance.now() - t0);
      }
    }),
  );
  const wallMs = performance.now() - started;
  const cpu = process.cpuUsage(cpuBefore);
  return { stats: summarize(images, wallMs, latencies), failed: [], cpu: [{ process: 'bench process (sharp)', seconds: (cpu.user + cpu.system) / 1e6 }] };
}

/** Redis for (c): REDIS_URL when it answers, else a private redis-server as launchStack starts for (b). */
async function referenceRedis(): Promise<{ url: string; privateRedis?: PrivateRedis }> {
  const url = process.env.REDIS_URL ?? DEFAULT_REDIS_URL;
  if (await redisAnswers(url)) return { url };
  if (!redisServerOnPath()) throw new Error(`run (c) needs Redis: nothing answers at ${url} and redis-server is not installed (set REDIS_URL)`);
  const privateRedis = await startPrivateRedis();
  return { url: privateRedis.url, privateRedis };
}

async function imagesDir(args: BenchArgs): Promise<{ dir: string; generated: boolean }> {
  if (args.images !== undefined) {
    const dir = resolve(args.images);
    const isDir = await stat(dir).then((s) => s.isDirectory(), () => false);
    if (!isDir) usageExit(`--images ${args.images}: no such directory`);
    return { dir, generated: false };
  }
  const dir = await mkdtemp(join(tmpdir(), 'bench-images-'));
  console.log(`generating ${args.count} synthetic images (mixed formats, 300-2000 px) in ${dir} ...`);
  await writeSyntheticImages(dir, { count: args.count, minSize: 300, maxSize: 2000 });
  return { dir, generated: true };
}

type Runner = (images: SourceImage[]) => Promise<RunResult>;

/**
 * The runners of (b), (c) and (d) selected by --only, (c) and (d) at their best concurrency
 * (found by a sweep, unless only one concurrency was given).
 */
async function runners(args: BenchArgs, ctx: ReferenceContext, sweeps: LabelledRun[]): Promise<Map<RunId, { label: string; run: Runner }>> {
  const out = new Map<RunId, { label: string; run: Runner }>();
  if (args.only.has('b')) out.set('b', { label: '(b) pipeline, end to end', run: (images) => runPipeline(ctx.imagesDir, images, args.executors, CHILD_ENV, log) });
  const refs: Array<[RunId, string, ReferenceRun]> = [
    ['c', 'BullMQ Worker pool, 1 process', runWorkerPool],
    ['d', 'transport floor, no queue, 1 process', runTransportFloor],
  ];
  for (const [id, what, run] of refs) {
    if (!args.only.has(id)) continue;
    const best = await sweep(ctx, run, args.concurrency, (r) => {
      console.log(sweepLine(id, r));
      sweeps.push({ id, label: `(${id}) concurrency ${r.concurrency}`, result: r });
    });
    const chosen = args.concurrency.length > 1 ? ` (best of ${args.concurrency.join(',')})` : '';
    out.set(id, { label: `(${id}) ${what}, concurrency ${best}${chosen}`, run: (images) => run({ ...ctx, images }, best) });
  }
  return out;
}

/**
 * Rounds of (b), (c) and (d) in turn, so a drift of the machine's speed hits them alike: each
 * one's median run is reported, and the ratios are the medians of each round's own ratios.
 */
async function rounds(args: BenchArgs, images: SourceImage[], ctx: ReferenceContext, done: LabelledRun[], sweeps: LabelledRun[]): Promise<string[]> {
  const selected = await runners(args, ctx, sweeps);
  if (selected.size === 0) return [];
  const byId = new Map<RunId, RunResult[]>();
  for (let round = 1; round <= args.rounds; round++) {
    for (const [id, { run }] of selected) {
      const result = await run(images);
      console.log(`round ${round}: (${id}) ${result.stats.imagesPerSecond.toFixed(1)} images/s`);
      byId.set(id, [...(byId.get(id) ?? []), result]);
    }
  }
  const of = args.rounds > 1 ? ` (median of ${args.rounds} rounds)` : '';
  for (const [id, { label }] of selected) done.push({ id, label: `${label}${of}`, result: medianRun(byId.get(id)!) });
  return roundRatios(done.find((r) => r.id === 'a')?.result.stats.imagesPerSecond, byId);
}

const args = readArgs();
if (args.mode === 'dispatch') {
  console.log(`dispatching ${args.jobs} jobs through the scheduler; ${args.executors} dry-run executor(s) finish them without I/O ...`);
  const result = await runDispatch(args.jobs, args.executors, CHILD_ENV, log);
  console.log(['', ...dispatchReport(result)].join('\n'));
  process.exit(0);
}
if (args.mode === 'mixed') {
  const redis = await referenceRedis();
  try {
    const lines = await runMixed({
      smallDir: args.images === undefined ? undefined : resolve(args.images),
      budgetMb: Number(process.env.EXECUTOR_MEM_MB ?? 1024),
      concurrencies: args.concurrency.length === 4 && args.concurrency.join() === '2,4,8,16' ? [4, 2] : args.concurrency,
      redisUrl: redis.url,
      env: CHILD_ENV,
      log,
    });
    console.log(lines.join('\n'));
  } finally {
    await redis.privateRedis?.stop();
  }
  process.exit(0);
}
const { dir, generated } = await imagesDir(args);
try {
  let loaded: SourceImage[];
  try {
    loaded = await loadImages(dir, args.limit);
  } catch (err) {
    usageExit(`--images ${dir}: ${err instanceof Error ? err.message.split('\n', 1)[0] : String(err)}`);
  }
  // --repeat N runs every image N times in every mode: steadier figures for a few large images.
  const images = Array.from({ length: args.repeat }, () => loaded).flat();
  const totalMp = images.reduce((n, i) => n + i.megapixels, 0);
  console.log(
    `${loaded.length} images x${args.repeat}, ${totalMp.toFixed(1)} megapixels, from ${dir}\n` +
      `machine: ${cpus()[0]?.model ?? 'cpu'} x${parallelism}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, node ${process.version}, ` +
      `sharp ${sharp.versions.sharp} / libvips ${sharp.versions.vips}; raw parallelism ${parallelism}; pipeline executors ${args.executors}; ` +
      `reference concurrency ${args.concurrency.join(',')}; runs ${[...args.only].sort().join(',')}`,
  );

  const done: LabelledRun[] = [];
  const sweeps: LabelledRun[] = [];
  if (args.only.has('a')) {
    // The raw run is short, so one noisy moment moves it a lot: take the median of three.
    const raws = [await runRaw(images), await runRaw(images), await runRaw(images)].sort((x, y) => x.stats.wallMs - y.stats.wallMs);
    done.push({ id: 'a', label: '(a) raw sharp, in memory (median of 3)', result: raws[1]! });
  }
  const redis = args.only.has('c') ? await referenceRedis() : undefined;
  let shown: string[];
  try {
    const ctx: ReferenceContext = { imagesDir: dir, images, redisUrl: redis?.url ?? '', env: CHILD_ENV, log };
    shown = await rounds(args, images, ctx, done, sweeps);
  } finally {
    await redis?.privateRedis?.stop();
  }

  console.log(['', ...runsTable(done)].join('\n'));
  if (shown.length > 0) console.log(`\nratios (images/s): ${shown.join(', ')}`);
  console.log('latency: (a) one inversion; (b), (c), (d) one image on an executor or worker: download + invert + upload');
  console.log(['', 'CPU of each process during the timed run (user + system, all threads):', ...cpuTable(done)].join('\n'));

  const failures = [...done, ...sweeps].flatMap((r) => failureLines(r.label, r.result));
  if (failures.length > 0) {
    console.log(['', ...failures].join('\n'));
    process.exitCode = 1;
  }
} finally {
  if (generated) await rm(dir, { recursive: true, force: true });
}
