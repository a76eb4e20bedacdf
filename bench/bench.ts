/**
 * `npm run bench [-- --images DIR] [--executors N] [--limit N]`
 *
 * In one run, on the same images: (a) raw sharp inversion in memory with the machine's
 * parallelism, and (b) the full pipeline (queue, scheduler, executors, fileserver serving the
 * sources, uploads). Prints images/s, megapixels/s, p50/p95 latency and the ratio b/a.
 */
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { availableParallelism, cpus, tmpdir, totalmem } from 'node:os';
import { extname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { Job, Queue } from 'bullmq';
import sharp from 'sharp';
import { enqueueUrls } from '../client/enqueue-urls.js';
import { createLogger } from '../common/log.js';
import { DEFAULT_JOB_POLICY, type ImageJobData, type ImageJobResult } from '../common/queue.js';
import { createRedis } from '../common/redis.js';
import { invertImage } from '../executor/invert.js';
import { launchStack } from '../stack/launch-stack.js';
import { summarize, type RunStats } from './stats.js';
import { writeSyntheticImages } from './synthetic-images.js';

const IMAGE_EXTENSIONS = new Set(['.jpg', '.jpeg', '.png', '.webp', '.gif', '.tif', '.tiff', '.avif']);
const MAX_PIXELS = 100_000_000;

interface SourceImage {
  name: string;
  data: Buffer;
  megapixels: number;
}

const { values: args } = parseArgs({
  options: {
    images: { type: 'string' },
    executors: { type: 'string', default: '1' },
    limit: { type: 'string' },
    count: { type: 'string', default: '120' },
    repeat: { type: 'string', default: '1' },
  },
});

const log = createLogger({ proc: 'bench' }, 'warn');
const parallelism = availableParallelism();

async function loadImages(dir: string, limit: number): Promise<SourceImage[]> {
  const names = (await readdir(dir)).filter((n) => IMAGE_EXTENSIONS.has(extname(n).toLowerCase())).sort().slice(0, limit);
  if (names.length === 0) throw new Error(`no images (${[...IMAGE_EXTENSIONS].join(' ')}) in ${dir}`);
  return Promise.all(
    names.map(async (name) => {
      const data = await readFile(join(dir, name));
      const meta = await sharp(data, { animated: true, limitInputPixels: MAX_PIXELS }).metadata();
      const frames = meta.pages ?? 1;
      return { name, data, megapixels: ((meta.width ?? 0) * (meta.pageHeight ?? meta.height ?? 0) * frames) / 1e6 };
    }),
  );
}

/** (a) Raw sharp: the same inversion the executors run, `parallelism` images at a time, all in memory. */
async function runRaw(images: SourceImage[]): Promise<RunStats> {
  const latencies: number[] = [];
  let next = 0;
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
  return summarize(images, performance.now() - started, latencies);
}

/** Waits until `total` jobs of the (private) queue are completed or failed. */
async function waitForFinished(queue: Queue<ImageJobData, ImageJobResult>, total: number): Promise<void> {
  for (;;) {
    const counts = await queue.getJobCounts('completed', 'failed');
    if ((counts.completed ?? 0) + (counts.failed ?? 0) >= total) return;
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** (b) The whole pipeline, the fileserver serving the sources over HTTP. */
async function runPipeline(dir: string, images: SourceImage[], executors: number): Promise<RunStats & { failed: string[] }> {
  const uploadDir = await mkdtemp(join(tmpdir(), 'bench-uploads-'));
  const queueName = `bench-${Date.now()}`;
  const stack = await launchStack(
    {
      redisUrl: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
      executors,
      port: 0,
      host: '127.0.0.1',
      uploadDir,
      imagesDir: dir,
      queueName,
      env: { LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn', MAX_INPUT_PIXELS: String(MAX_PIXELS) },
    },
    log,
  );
  const connection = createRedis(stack.redisUrl, log, 'bench');
  const queue = new Queue<ImageJobData, ImageJobResult>(queueName, { connection });
  try {
    const policy = { ...DEFAULT_JOB_POLICY, keepCompletedSeconds: 3600, keepFailedSeconds: 3600 };
    const urls = (list: SourceImage[]) => list.map((i) => ({ url: `${stack.imagesBaseUrl}${encodeURIComponent(i.name)}` }));
    // Warm-up: processes have just started (JIT, connections, sharp init); not timed.
    const warm = await enqueueUrls(queue, urls(images.slice(0, Math.min(4, images.length))), policy);
    await waitForFinished(queue, warm.length);

    // Same URLs again: outputs overwrite, so the timed run does exactly the work of the raw run.
    // Completion is detected by polling counts (the queue is private to this run): the benchmark
    // adds no event-stream reader to the machine it measures.
    const started = performance.now();
    const jobs = await enqueueUrls(queue, urls(images), policy);
    await waitForFinished(queue, warm.length + jobs.length);
    const wallMs = performance.now() - started;

    const latencies: number[] = [];
    const failed: string[] = [];
    for (let i = 0; i < jobs.length; i += 200) {
      const chunk = await Promise.all(jobs.slice(i, i + 200).map((j) => Job.fromId<ImageJobData, ImageJobResult>(queue, String(j.id))));
      for (const job of chunk) {
        if (job?.returnvalue) latencies.push(job.returnvalue.durationMs);
        else failed.push(`${job?.data.url ?? '?'}: ${job?.failedReason ?? 'job missing'}`);
      }
    }
    return { ...summarize(images, wallMs, latencies), failed };
  } finally {
    await queue.obliterate({ force: true }).catch(() => undefined);
    await queue.close();
    connection.disconnect();
    await stack.stop();
    await rm(uploadDir, { recursive: true, force: true });
  }
}

function row(label: string, s: RunStats): string {
  return `| ${label} | ${s.images} | ${(s.wallMs / 1000).toFixed(2)} | ${s.imagesPerSecond.toFixed(1)} | ${s.megapixelsPerSecond.toFixed(1)} | ${s.p50Ms.toFixed(0)} | ${s.p95Ms.toFixed(0)} |`;
}

let generatedDir: string | undefined;
try {
  let dir: string;
  if (args.images) dir = resolve(args.images);
  else {
    generatedDir = dir = await mkdtemp(join(tmpdir(), 'bench-images-'));
    const count = Number(args.count);
    console.log(`generating ${count} synthetic images (mixed formats, 300-2000 px) in ${dir} ...`);
    await writeSyntheticImages(dir, { count, minSize: 300, maxSize: 2000 });
  }
  const loaded = await loadImages(dir, args.limit ? Number(args.limit) : Number.POSITIVE_INFINITY);
  // --repeat N runs every image N times in both modes: steadier figures for a few large images.
  const images = Array.from({ length: Math.max(1, Number(args.repeat)) }, () => loaded).flat();
  const executors = Number(args.executors);
  const totalMp = images.reduce((n, i) => n + i.megapixels, 0);
  console.log(
    `${loaded.length} images x${images.length / loaded.length}, ${totalMp.toFixed(1)} megapixels, from ${dir}\n` +
      `machine: ${cpus()[0]?.model ?? 'cpu'} x${parallelism}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, node ${process.version}, ` +
      `sharp ${sharp.versions.sharp} / libvips ${sharp.versions.vips}; raw parallelism ${parallelism}; pipeline executors ${executors}`,
  );

  // The raw run is short, so one noisy moment moves it a lot: take the median of three.
  const raws = [await runRaw(images), await runRaw(images), await runRaw(images)].sort((x, y) => x.wallMs - y.wallMs);
  const raw = raws[1]!;
  const pipeline = await runPipeline(dir, images, executors);

  console.log('\n| run | images | wall s | images/s | MP/s | p50 ms | p95 ms |');
  console.log('|---|---|---|---|---|---|---|');
  console.log(row('(a) raw sharp, in memory (median of 3)', raw));
  console.log(row('(b) pipeline, end to end', pipeline));
  console.log(`\nratio b/a (images/s): ${(pipeline.imagesPerSecond / raw.imagesPerSecond).toFixed(2)}`);
  console.log('latency: (a) one inversion; (b) one task on an executor: download + invert + upload');
  if (pipeline.failed.length > 0) {
    console.log(`\n${pipeline.failed.length} pipeline jobs failed:`);
    for (const f of pipeline.failed.slice(0, 10)) console.log(`  ${f}`);
    process.exitCode = 1;
  }
} finally {
  if (generatedDir) await rm(generatedDir, { recursive: true, force: true });
}
