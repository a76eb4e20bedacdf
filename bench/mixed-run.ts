/**
 * `bench --mixed`: what offers buy that a worker pool cannot. Small images plus a few generated
 * 40-60 Mpx ones, on one executor whose memory budget (EXECUTOR_MEM_MB) cannot hold every task
 * at its largest. The pipeline runs small images four at a time in the default 256 MB tasks and
 * gives each huge one, once it has said what it needs (RESOURCES_EXCEEDED, from its header), a
 * task of that size, saving memory up for it; a worker pool at a fixed concurrency either runs
 * huge images side by side and overruns the budget, or runs everything two at a time and idles.
 * Prints throughput and the peak RSS of the processes doing the work against the budget.
 */
import { copyFile, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { extname, join } from 'node:path';
import sharp from 'sharp';
import type { Logger } from '../common/log.js';
import { runPipeline } from './pipeline-run.js';
import { runWorkerPool, type ReferenceContext } from './reference-runs.js';
import { loadImages } from './source-images.js';
import type { RunResult } from './stats.js';
import { writeSyntheticImages } from './synthetic-images.js';

/** Width x height of the generated huge images: 42, 49, 56 and 58 Mpx. */
const HUGE: ReadonlyArray<readonly [number, number]> = [
  [7000, 6000],
  [7000, 7000],
  [8000, 7000],
  [7600, 7600],
];

export interface MixedOptions {
  /** Small images to mix in; undefined = generate 120. */
  smallDir: string | undefined;
  budgetMb: number;
  /** The worker pool's fixed concurrencies. */
  concurrencies: number[];
  redisUrl: string;
  env: Record<string, string>;
  log: Logger;
}

async function hugeImage(path: string, width: number, height: number): Promise<void> {
  // Noise keeps the JPEG from compressing to nothing; the pixels are what costs memory.
  await sharp({ create: { width, height, channels: 3, background: '#808080', noise: { type: 'gaussian', mean: 128, sigma: 24 } } })
    .jpeg({ quality: 80 })
    .toFile(path);
}

export async function runMixed(opts: MixedOptions): Promise<string[]> {
  const dir = await mkdtemp(join(tmpdir(), 'bench-mixed-'));
  try {
    if (opts.smallDir === undefined) await writeSyntheticImages(dir, { count: 120, minSize: 300, maxSize: 800 });
    else for (const name of await readdir(opts.smallDir)) if (extname(name) !== '') await copyFile(join(opts.smallDir, name), join(dir, name));
    console.log(`generating ${HUGE.length} huge JPEGs (${HUGE.map(([w, h]) => `${Math.round((w * h) / 1e6)} Mpx`).join(', ')}) ...`);
    for (const [i, [w, h]] of HUGE.entries()) await hugeImage(join(dir, `zz-huge-${i + 1}.jpg`), w, h);
    const images = await loadImages(dir, Number.POSITIVE_INFINITY);
    console.log(`${images.length} images (${images.length - HUGE.length} small, ${HUGE.length} huge); executor memory budget ${opts.budgetMb} MB, 2 cpus`);

    const budgetEnv = { ...opts.env, EXECUTOR_MEM_MB: String(opts.budgetMb), EXECUTOR_CPUS: '2' };
    const runs: { label: string; result: RunResult }[] = [];
    const pipeline = await runPipeline(dir, images, 1, budgetEnv, opts.log);
    runs.push({ label: '(b) pipeline, tasks sized by image', result: pipeline });
    console.log(`(b) done: ${pipeline.stats.imagesPerSecond.toFixed(1)} images/s`);
    const ctx: ReferenceContext = { imagesDir: dir, images, redisUrl: opts.redisUrl, env: opts.env, log: opts.log };
    for (const concurrency of opts.concurrencies) {
      const pool = await runWorkerPool(ctx, concurrency);
      runs.push({ label: `(c) BullMQ Worker pool, concurrency ${concurrency}`, result: pool });
      console.log(`(c) concurrency ${concurrency} done: ${pool.stats.imagesPerSecond.toFixed(1)} images/s`);
    }
    const peak = (r: RunResult) => Math.max(0, ...(r.peakRssMb ?? []).map((p) => p.mb));
    return [
      '',
      '| run | images | wall s | images/s | p95 ms | peak RSS MB | within the budget | failed |',
      '|---|---|---|---|---|---|---|---|',
      ...runs.map(({ label, result: r }) => {
        const mb = peak(r);
        return `| ${label} | ${r.stats.images} | ${(r.stats.wallMs / 1000).toFixed(2)} | ${r.stats.imagesPerSecond.toFixed(1)} | ${r.stats.p95Ms.toFixed(0)} | ${mb.toFixed(0)} | ${mb <= opts.budgetMb ? 'yes' : `no (+${(mb - opts.budgetMb).toFixed(0)} MB)`} | ${r.failed.length} |`;
      }),
      '',
      'peak RSS: of the executor for (b), of the worker process for (c), over the whole run',
      ...runs.flatMap((r) => r.result.failed.slice(0, 5).map((f) => `failed in ${r.label}: ${f}`)),
    ];
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
