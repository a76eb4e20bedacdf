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
