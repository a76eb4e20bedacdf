/** Throughput and latency figures for one benchmark run. Pure. */
export interface RunStats {
  images: number;
  wallMs: number;
  imagesPerSecond: number;
  megapixelsPerSecond: number;
  p50Ms: number;
  p95Ms: number;
}

/** Nearest-rank percentile of `values` (0 for an empty list). */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1] ?? 0;
}

export function summarize(images: readonly { megapixels: number }[], wallMs: number, latenciesMs: readonly number[]): RunStats {
  const seconds = wallMs / 1000;
  const megapixels = images.reduce((n, i) => n + i.megapixels, 0);
  return {
    images: images.length,
    wallMs,
    imagesPerSecond: images.length / seconds,
    megapixelsPerSecond: megapixels / seconds,
    p50Ms: percentile(latenciesMs, 50),
    p95Ms: percentile(latenciesMs, 95),
  };
}

/** A process's CPU seconds (user + system, all threads) during a run's timed section. */
export interface CpuShare {
  process: string;
  seconds: number;
}

/** One timed run: its figures, the images that failed, and what each process spent on it. */
export interface RunResult {
  stats: RunStats;
  failed: string[];
  cpu: CpuShare[];
  /** Images in flight at once, for the runs that sweep it. */
  concurrency?: number;
  /** Peak resident memory of the processes doing the image work. */
  peakRssMb?: { process: string; mb: number }[];
}

/** The fastest run without failures, or the fastest run when all had some; undefined for none. */
export function bestRun<T extends RunResult>(runs: readonly T[]): T | undefined {
  const clean = runs.filter((r) => r.failed.length === 0);
  const pool = clean.length > 0 ? clean : runs;
  return pool.reduce<T | undefined>((best, r) => (best === undefined || r.stats.imagesPerSecond > best.stats.imagesPerSecond ? r : best), undefined);
}
