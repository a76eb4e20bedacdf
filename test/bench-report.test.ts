import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseProcStat } from '../bench/cpu-meter.js';
import { cpuTable, ratios, type LabelledRun } from '../bench/report.js';
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

test('ratios: only between runs that were done', () => {
  const labelled = (id: LabelledRun['id'], rate: number): LabelledRun => ({ id, label: id, result: run(rate) });
  assert.deepEqual(ratios([labelled('a', 20), labelled('c', 10), labelled('d', 15)]), ['c/a 0.50', 'd/a 0.75', 'c/d 0.67']);
  assert.deepEqual(ratios([labelled('a', 20), labelled('b', 10)]), ['b/a 0.50']);
});

test('cpuTable: one row per process and their sum, per image', () => {
  const result: RunResult = { ...run(10), cpu: [{ process: 'worker pool', seconds: 0.5 }, { process: 'fileserver', seconds: 0.25 }], concurrency: 4 };
  assert.deepEqual(cpuTable([{ id: 'c', label: 'c', result }]).slice(2), [
    '| (c) concurrency 4 | worker pool | 0.50 | 500.0 |',
    '| (c) concurrency 4 | fileserver | 0.25 | 250.0 |',
    '| (c) concurrency 4 | all of these | 0.75 | 750.0 |',
  ]);
});
