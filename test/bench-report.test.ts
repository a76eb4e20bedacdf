import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseProcStat } from '../bench/cpu-meter.js';
import type { RunId } from '../bench/bench-args.js';
import { cpuTable, medianRun, roundRatios } from '../bench/report.js';
import { bestRun, summarize, type RunResult } from '../bench/stats.js';

test('parseProcStat: counts fields after the last parenthesis of the name', () => {
  const fields = ['S', '42', ...Array.from({ length: 9 }, () => '0'), '250', '50', '7', '7'];
  const stat = parseProcStat(`123 (node (x) y) ${fields.join(' ')}`);
  assert.deepEqual(stat, { ppid: 42, cpuSeconds: 3 });
  assert.equal(parseProcStat('garbage'), undefined);
});

function run(imagesPerSecondTimes10: number, failed = 0, concurrency?: number): RunResult {
  return {
    stats: summarize([{ megapixels: 1 }], 10_000 / imagesPerSecondTimes10, []),
    failed: Array.from({ length: failed }, () => 'x'),
    cpu: [],
    concurrency,
  };
}

test('bestRun: the fastest run without failures; the fastest of all when every run failed some', () => {
  assert.equal(bestRun([run(10, 0, 2), run(30, 1, 4), run(20, 0, 8)])?.concurrency, 8);
  assert.equal(bestRun([run(10, 2, 2), run(30, 1, 4)])?.concurrency, 4);
  assert.equal(bestRun([]), undefined);
});

test('round ratios: against raw from the median runs, between runs as the median of each round\'s ratio', () => {
  const r = (rate: number) => run(rate * 10);
  const rounds = new Map<RunId, RunResult[]>([
    ['b', [r(100), r(130), r(120)]],
    ['c', [r(100), r(100), r(80)]],
  ]);
  assert.deepEqual(roundRatios(200, rounds), ['b/a 0.60', 'b/c 1.30 (rounds 1.00-1.50)', 'c/a 0.50']);
  assert.deepEqual(roundRatios(undefined, new Map<RunId, RunResult[]>([['b', [r(10)]], ['d', [r(20)]]])), ['b/d 0.50']);
  assert.equal(medianRun([r(3), r(1), r(2)]).stats.imagesPerSecond, 2);
  assert.equal(medianRun([r(4), r(1), r(2), r(3)]).stats.imagesPerSecond, 2, 'the lower middle of an even count');
});

test('cpuTable: one row per process and their sum, per image', () => {
  const result: RunResult = { ...run(10), cpu: [{ process: 'worker pool', seconds: 0.5 }, { process: 'fileserver', seconds: 0.25 }], concurrency: 4 };
  assert.deepEqual(cpuTable([{ id: 'c', label: 'c', result }]).slice(2), [
    '| (c) concurrency 4 | worker pool | 0.50 | 500.0 |',
    '| (c) concurrency 4 | fileserver | 0.25 | 250.0 |',
    '| (c) concurrency 4 | all of these | 0.75 | 750.0 |',
  ]);
});
