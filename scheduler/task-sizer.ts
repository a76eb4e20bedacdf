/**
 * How many images one task carries. A task's fixed costs (its launch, its status update and
 * acknowledgement, its offer, its upload request) are worth sharing among small images but
 * not among large ones, where one image per task spreads the work best. So the scheduler learns,
 * per source host, what an image costs (the durations runs report) and sizes tasks to last
 * about `targetTaskMs`: many small images per task sharing a cpu, one large one on a whole cpu.
 * Pure.
 */
export interface SizerOptions {
  /** Most images one task carries; 1 turns batching off. */
  maxImages: number;
  /** A task should last about this long. */
  targetTaskMs: number;
}

const WEIGHT = 0.2;
/** An inversion this long keeps a core busy: two of them on one core only slow each other down. */
const HEAVY_INVERT_MS = 50;

const ewma = (before: number | undefined, value: number) => (before === undefined ? value : before + WEIGHT * (value - before));

export class TaskSizer {
  private readonly costMs = new Map<string, number>();
  private readonly invertMs = new Map<string, number>();
  private lastHost = '';

  constructor(private readonly opts: SizerOptions) {}

  /** A finished run: its whole duration (download + invert + its share of the upload) and its inversion. */
  observe(host: string, durationMs: number, invertMs: number): void {
    if (!(durationMs >= 0) || !(invertMs >= 0)) return;
    this.costMs.set(host, ewma(this.costMs.get(host), durationMs));
    this.invertMs.set(host, ewma(this.invertMs.get(host), invertMs));
    this.lastHost = host;
  }

  /**
   * Cpus for a task of `host`'s images: heavy inversions get a whole cpu each, so no more run
   * than there are cores (measured: four large images on two cores cost 25% more CPU than two);
   * light ones spend much of their time waiting on the network, so tasks share (`base`, TASK_CPUS).
   * An executor with less than a whole cpu (`executorCpus`) gives a heavy task all it has: asking
   * for more than it will ever offer would decline its every offer, and its jobs would wait forever.
   */
  cpusPerTask(base: number, executorCpus: number, host = this.lastHost): number {
    const invert = this.invertMs.get(host);
    return invert !== undefined && invert >= HEAVY_INVERT_MS ? Math.max(base, Math.min(1, executorCpus)) : base;
  }

  /** Images per task for jobs of `host` (the last host seen when unknown): 1 until it has been measured. */
  imagesPerTask(host = this.lastHost): number {
    const cost = this.costMs.get(host);
    if (cost === undefined || this.opts.maxImages <= 1) return 1;
    const byTarget = Math.floor(this.opts.targetTaskMs / Math.max(1, cost));
    // A heavy image's task holds a whole cpu: with a second image in it, that image downloads
    // while the first inverts, so the cpu does not idle through every download and launch.
    const least = (this.invertMs.get(host) ?? 0) >= HEAVY_INVERT_MS ? 2 : 1;
    return Math.max(least, Math.min(this.opts.maxImages, byTarget));
  }

  view(): { host: string; imageMs: number; invertMs: number; imagesPerTask: number }[] {
    return [...this.costMs].map(([host, ms]) => ({ host, imageMs: Math.round(ms), invertMs: Math.round(this.invertMs.get(host) ?? 0), imagesPerTask: this.imagesPerTask(host) }));
  }
}

/** Splits `count` images over at most `slots` tasks, as evenly as possible, none over `max`. */
export function splitEvenly(count: number, slots: number, max: number): number[] {
  const tasks = Math.min(slots, count);
  if (tasks <= 0) return [];
  const sizes = Array.from({ length: tasks }, (_, i) => Math.floor(count / tasks) + (i < count % tasks ? 1 : 0));
  return sizes.map((n) => Math.min(n, max));
}
