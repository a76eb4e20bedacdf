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

const RATIOS: ReadonlyArray<readonly [RunId, RunId]> = [
  ['b', 'a'],
  ['b', 'c'],
  ['b', 'd'],
  ['c', 'a'],
  ['d', 'a'],
  ['c', 'd'],
];

/** Every ratio of images/s whose two runs were done, e.g. "b/a 0.72". */
export function ratios(runs: readonly LabelledRun[]): string[] {
  const rate = (id: RunId) => runs.find((r) => r.id === id)?.result.stats.imagesPerSecond;
  return RATIOS.flatMap(([x, y]) => {
    const over = rate(x);
    const under = rate(y);
    return over === undefined || under === undefined ? [] : [`${x}/${y} ${(over / under).toFixed(2)}`];
  });
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
export function sweepLine(id: RunId, result: RunResult, confirming = false): string {
  const s = result.stats;
  const cpu = result.cpu
    .map((c) => `${c.process.replace(/ \(.*\)$/, '')} ${((c.seconds * 1000) / s.images).toFixed(1)}`)
    .join(', ');
  const failed = result.failed.length > 0 ? `, ${result.failed.length} FAILED` : '';
  const what = confirming ? 'again' : 'concurrency';
  return `(${id}) ${what} ${String(result.concurrency).padStart(3)}: ${s.imagesPerSecond.toFixed(1).padStart(6)} images/s, p50 ${s.p50Ms.toFixed(0)} ms, p95 ${s.p95Ms.toFixed(0)} ms; CPU ms/image: ${cpu}${failed}`;
}

/** The failures of a run, at most `max` of them listed. */
export function failureLines(label: string, result: RunResult, max = 10): string[] {
  if (result.failed.length === 0) return [];
  const more = result.failed.length > max ? [`  ... and ${result.failed.length - max} more`] : [];
  return [`${result.failed.length} images failed in ${label}:`, ...result.failed.slice(0, max).map((f) => `  ${f}`), ...more];
}
