/**
 * How many images one task carries. A task's fixed costs (its launch, its status update and
 * acknowledgement, its offer, its upload request) are worth sharing among small images but
 * not among large ones, where one image per task spreads the work best. So the scheduler learns,
 * per source host, what an image costs (the durations runs report) and sizes tasks to last
 * about `targetTaskMs`: many small images per task, one large one. Pure.
 */
export interface SizerOptions {
  /** Most images one task carries; 1 turns batching off. */
  maxImages: number;
  /** A task should last about this long. */
  targetTaskMs: number;
}

const WEIGHT = 0.2;

export class TaskSizer {
  private readonly costMs = new Map<string, number>();
  private lastHost = '';

  constructor(private readonly opts: SizerOptions) {}

  /** A finished run's duration (download + invert + its share of the upload). */
  observe(host: string, durationMs: number): void {
    if (!(durationMs >= 0)) return;
    const before = this.costMs.get(host);
    this.costMs.set(host, before === undefined ? durationMs : before + WEIGHT * (durationMs - before));
    this.lastHost = host;
  }

  /** Images per task for jobs of `host` (the last host seen when unknown): 1 until it has been measured. */
  imagesPerTask(host = this.lastHost): number {
    const cost = this.costMs.get(host);
    if (cost === undefined || this.opts.maxImages <= 1) return 1;
    return Math.max(1, Math.min(this.opts.maxImages, Math.floor(this.opts.targetTaskMs / Math.max(1, cost))));
  }

  view(): { host: string; imageMs: number; imagesPerTask: number }[] {
    return [...this.costMs].map(([host, ms]) => ({ host, imageMs: Math.round(ms), imagesPerTask: this.imagesPerTask(host) }));
  }
}

/** Splits `count` images over at most `slots` tasks, as evenly as possible, none over `max`. */
export function splitEvenly(count: number, slots: number, max: number): number[] {
  const tasks = Math.min(slots, count);
  if (tasks <= 0) return [];
  const sizes = Array.from({ length: tasks }, (_, i) => Math.floor(count / tasks) + (i < count % tasks ? 1 : 0));
  return sizes.map((n) => Math.min(n, max));
}
