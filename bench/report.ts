/** The benchmark's printed output: one markdown table of runs, the ratios, and where the CPU went. Pure formatting. */
import type { RunId } from './bench-args.js';
import type { RunResult, RunStats } from './stats.js';

export interface LabelledRun {
  id: RunId;
  label: string;
  result: RunResult;
}

function row(label: string, s: RunStats): string {
  return `| ${label} | ${s.images} | ${(s.wallMs / 1000).toFixed(2)} | ${s.imagesPerSecond.toFixed(1)} | ${s.megapixelsPerSecond.toFixed(1)} | ${s.p50Ms.toFixed(0)} | ${s.p95Ms.toFixed(0)} |`;
}

export function runsTable(runs: readonly LabelledRun[]): string[] {
  return [
    '| run | images | wall s | images/s | MP/s | p50 ms | p95 ms |',
    '|---|---|---|---|---|---|---|',
    ...runs.map((r) => row(r.label, r.result.stats)),
  ];
}

/** The run whose images/s is the median of a list (the lower middle one for an even count). */
export function medianRun(list: readonly RunResult[]): RunResult {
  return [...list].sort((x, y) => x.stats.imagesPerSecond - y.stats.imagesPerSecond)[Math.floor((list.length - 1) / 2)]!;
}

/**
 * The ratios of images/s the benchmark prints: against (a) from the median runs, and between
 * (b), (c) and (d) as the median of each round's own ratio (they ran side by side in a round,
 * so a drift of the machine's speed cancels out), with the rounds' range.
 */
export function roundRatios(rawRate: number | undefined, rounds: ReadonlyMap<RunId, readonly RunResult[]>): string[] {
  const rate = (r: RunResult) => r.stats.imagesPerSecond;
  const toRaw = (x: RunId) => {
    const xs = rounds.get(x);
    return rawRate === undefined || !xs?.length ? [] : [`${x}/a ${(rate(medianRun(xs)) / rawRate).toFixed(2)}`];
  };
  const paired = (x: RunId, y: RunId) => {
    const xs = rounds.get(x);
    const ys = rounds.get(y);
    if (!xs?.length || !ys?.length) return [];
    const values = xs.map((r, i) => rate(r) / rate(ys[i] ?? r)).sort((p, q) => p - q);
    const range = values.length > 1 ? ` (rounds ${values[0]!.toFixed(2)}-${values.at(-1)!.toFixed(2)})` : '';
    return [`${x}/${y} ${values[Math.floor((values.length - 1) / 2)]!.toFixed(2)}${range}`];
  };
  return [...toRaw('b'), ...paired('b', 'c'), ...paired('b', 'd'), ...toRaw('c'), ...toRaw('d'), ...paired('c', 'd')];
}

function cpuCells(result: RunResult): string[] {
  const cell = (process: string, seconds: number) => `| ${process} | ${seconds.toFixed(2)} | ${((seconds * 1000) / result.stats.images).toFixed(1)} |`;
  const cells = result.cpu.map((c) => cell(c.process, c.seconds));
  // The sum is what the run costs the machine per image, whatever else shares the cores meanwhile.
  if (result.cpu.length > 1) cells.push(cell('all of these', result.cpu.reduce((n, c) => n + c.seconds, 0)));
  return cells;
}

/** CPU seconds of each process during each run's timed section, and per image. */
export function cpuTable(runs: readonly LabelledRun[]): string[] {
  const lines = ['| run | process | CPU s | CPU ms per image |', '|---|---|---|---|'];
  for (const r of runs) {
    const tag = r.result.concurrency === undefined ? `(${r.id})` : `(${r.id}) concurrency ${r.result.concurrency}`;
    for (const cell of cpuCells(r.result)) lines.push(`| ${tag} ${cell}`);
  }
  return lines;
}

/** One line per sweep step, printed as it finishes so the choice of the best is visible. */
export function sweepLine(id: RunId, result: RunResult): string {
  const s = result.stats;
  const cpu = result.cpu
    .map((c) => `${c.process.replace(/ \(.*\)$/, '')} ${((c.seconds * 1000) / s.images).toFixed(1)}`)
    .join(', ');
  const failed = result.failed.length > 0 ? `, ${result.failed.length} FAILED` : '';
  return `(${id}) concurrency ${String(result.concurrency).padStart(3)}: ${s.imagesPerSecond.toFixed(1).padStart(6)} images/s, p50 ${s.p50Ms.toFixed(0)} ms, p95 ${s.p95Ms.toFixed(0)} ms; CPU ms/image: ${cpu}${failed}`;
}

/** The failures of a run, at most `max` of them listed. */
export function failureLines(label: string, result: RunResult, max = 10): string[] {
  if (result.failed.length === 0) return [];
  const more = result.failed.length > max ? [`  ... and ${result.failed.length - max} more`] : [];
  return [`${result.failed.length} images failed in ${label}:`, ...result.failed.slice(0, max).map((f) => `  ${f}`), ...more];
}
