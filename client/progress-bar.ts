/**
 * How `batch` shows progress. Pure: a TTY gets one bar redrawn in place (`renderProgressBar`,
 * fitted to the terminal width), anything else a plain line now and then (`renderProgressLine`).
 */
import type { BatchProgress } from './watch-jobs.js';

const MAX_BAR_CELLS = 30;
const MIN_BAR_CELLS = 10;

/** Images finished (either way) per second since the start; 0 before anything finished. */
export function ratePerSecond(p: BatchProgress): number {
  const finished = p.completed + p.failed;
  return p.elapsedMs > 0 ? finished / (p.elapsedMs / 1000) : 0;
}

/** Seconds left at the current rate; undefined while there is no rate to judge by. */
export function etaSeconds(p: BatchProgress): number | undefined {
  const rate = ratePerSecond(p);
  const left = p.total - p.completed - p.failed;
  if (left <= 0) return 0;
  return rate > 0 ? left / rate : undefined;
}

/** 0:07, 3:05, 1:02:03. */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const [h, m, rest] = [Math.floor(s / 3600), Math.floor((s % 3600) / 60), s % 60];
  const mm = h > 0 ? String(m).padStart(2, '0') : String(m);
  return `${h > 0 ? `${h}:` : ''}${mm}:${String(rest).padStart(2, '0')}`;
}

export function renderProgressLine(p: BatchProgress): string {
  const waiting = Math.max(0, p.total - p.completed - p.failed - p.active);
  return `${p.completed + p.failed}/${p.total} done (${p.completed} ok, ${p.failed} failed), ${p.active} running, ${waiting} waiting, ${ratePerSecond(p).toFixed(1)} images/s`;
}

/** `[#####-----]  5/10  ok 4  failed 1  running 2  1.3/s  ETA 0:04`, never wider than `columns`. */
export function renderProgressBar(p: BatchProgress, columns: number): string {
  const finished = p.completed + p.failed;
  const eta = etaSeconds(p);
  const stats = [
    `${finished}/${p.total}`,
    `ok ${p.completed}`,
    `failed ${p.failed}`,
    `running ${p.active}`,
    `${ratePerSecond(p).toFixed(1)}/s`,
    `ETA ${eta === undefined ? '--:--' : formatDuration(eta)}`,
  ].join('  ');
  // One column is left free: writing the last one makes some terminals wrap.
  const room = columns - 1 - stats.length - 4;
  if (room < MIN_BAR_CELLS) return stats.slice(0, Math.max(0, columns - 1));
  const cells = Math.min(MAX_BAR_CELLS, room);
  const full = p.total > 0 ? Math.floor((finished / p.total) * cells) : cells;
  return `[${'#'.repeat(full)}${'-'.repeat(cells - full)}]  ${stats}`;
}
