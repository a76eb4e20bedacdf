/** batch's pure pieces: progress rendering, the display on a fake TTY and a pipe, child-log summary, manifest, unplaceable. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BatchDisplay, type DisplayStream } from '../client/batch-display.js';
import { buildManifest } from '../client/batch-manifest.js';
import { ChildLogSummary, parseChildLine } from '../client/child-log-summary.js';
import { etaSeconds, formatDuration, renderProgressBar, renderProgressLine } from '../client/progress-bar.js';
import { unplaceableOf, unplaceableStep } from '../client/unplaceable-watch.js';
import type { BatchOutcome, BatchProgress } from '../client/watch-jobs.js';

const p = (over: Partial<BatchProgress>): BatchProgress => ({ total: 10, completed: 0, failed: 0, active: 0, elapsedMs: 0, ...over });

test('formatDuration', () => {
  const cases: [number, string][] = [
    [0, '0:00'],
    [7.4, '0:07'],
    [185, '3:05'],
    [3723, '1:02:03'],
    [-3, '0:00'],
  ];
  for (const [seconds, want] of cases) assert.equal(formatDuration(seconds), want, String(seconds));
});

test('etaSeconds: unknown before the first finish, then left / rate', () => {
  assert.equal(etaSeconds(p({ elapsedMs: 5000 })), undefined);
  assert.equal(etaSeconds(p({ completed: 4, failed: 1, elapsedMs: 10_000 })), 10); // 0.5/s, 5 left
  assert.equal(etaSeconds(p({ completed: 10, elapsedMs: 1000 })), 0);
});

test('renderProgressBar: fills by finished share, shows counts, rate and ETA, fits the width', () => {
  const cases: [BatchProgress, number, RegExp][] = [
    [p({}), 120, /^\[-{30}\]  0\/10  ok 0  failed 0  running 0  0\.0\/s  ETA --:--$/],
    [p({ completed: 4, failed: 1, active: 2, elapsedMs: 10_000 }), 120, /^\[#{15}-{15}\]  5\/10  ok 4  failed 1  running 2  0\.5\/s  ETA 0:10$/],
    [p({ completed: 10, elapsedMs: 2000 }), 120, /^\[#{30}\]  10\/10 .* ETA 0:00$/],
    [p({ completed: 5, elapsedMs: 1000 }), 80, /^\[#+-+\]  5\/10/],
    [p({ completed: 5, elapsedMs: 1000 }), 40, /^5\/10  ok 5/], // too narrow for a bar
  ];
  for (const [progress, columns, want] of cases) {
    const line = renderProgressBar(progress, columns);
    assert.match(line, want);
    assert.ok(line.length < columns, `${line.length} < ${columns}: ${line}`);
  }
});

test('renderProgressLine: the plain line for logs', () => {
  assert.equal(
    renderProgressLine(p({ completed: 3, failed: 1, active: 2, elapsedMs: 2000 })),
    '4/10 done (3 ok, 1 failed), 2 running, 4 waiting, 2.0 images/s',
  );
});

test('parseChildLine reads warnings and errors in logfmt, pino JSON and pino-pretty; ignores the rest', () => {
  const cases: [string, { process: string; level: string; message: string } | undefined][] = [
    ['executor-1  | WARN  download failed url=http://x/a.png code=DOWNLOAD_TIMEOUT', { process: 'executor-1', level: 'warn', message: 'download failed' }],
    ['scheduler   | ERROR lost the lease epoch=3', { process: 'scheduler', level: 'error', message: 'lost the lease' }],
    ['executor-2  | {"level":40,"time":1,"msg":"slow source","url":"x"}', { process: 'executor-2', level: 'warn', message: 'slow source' }],
    ['executor-2  | {"level":50,"msg":"upload failed"}', { process: 'executor-2', level: 'error', message: 'upload failed' }],
    ['executor-2  | {"level":"warn","msg":"labelled"}', { process: 'executor-2', level: 'warn', message: 'labelled' }],
    ['fileserver  | [12:00:01.123] WARN (fileserver/42): disk almost full', { process: 'fileserver', level: 'warn', message: 'disk almost full' }],
    ['executor-1  | INFO  task finished', undefined],
    ['executor-1  | {"level":30,"msg":"task finished"}', undefined],
    ['executor-1  | some stack trace line', undefined],
  ];
  for (const [line, want] of cases) {
    const got = parseChildLine(line);
    assert.deepEqual(got === undefined ? undefined : { process: got.process, level: got.level, message: got.message }, want, line);
  }
});

test('ChildLogSummary counts by process kind and message, errors first, with a few examples', () => {
  const s = new ChildLogSummary(1);
  assert.equal(s.add('executor-1  | WARN  download failed code=A'), true);
  assert.equal(s.add('executor-2  | WARN  download failed code=B'), true);
  assert.equal(s.add('scheduler   | ERROR lost the lease'), true);
  assert.equal(s.add('executor-1  | INFO  fine'), false);
  assert.equal(s.total, 3);
  assert.deepEqual(s.lines(), [
    'the pipeline logged 3 warning/error lines:',
    '  1 x ERROR scheduler: lost the lease',
    '      e.g. scheduler   | ERROR lost the lease',
    '  2 x WARN executor: download failed',
    '      e.g. executor-1  | WARN  download failed code=A',
  ]);
  assert.deepEqual(new ChildLogSummary().lines(), []);
});

/** A stream that records what was written, as a terminal or a pipe. */
function fakeStream(tty: boolean, columns = 100): DisplayStream & { text: string } {
  const stream = { text: '', isTTY: tty, columns, write: (s: string) => (stream.text += s) };
  return stream;
}

test('BatchDisplay on a TTY: the bar is redrawn in place, warnings are held back, other lines go above the bar', () => {
  const out = fakeStream(true);
  const err = fakeStream(true);
  const display = new BatchDisplay(out, err);
  display.progress(p({ completed: 1, elapsedMs: 1000 }));
  display.childLine('executor-1  | WARN  download failed code=X');
  display.childLine('executor-1  | a line that is not a log record');
  display.progress(p({ completed: 2, elapsedMs: 2000 }));
  display.notice('waiting: no executor can fit one image task');
  const summary = display.finish();

  assert.equal(out.text.split('\r\x1b[K').length - 1, 4, 'two draws plus a clear before each line above the bar');
  assert.ok(!out.text.slice(0, -1).includes('\n'), 'the bar never moves to a new line until the end');
  assert.ok(out.text.endsWith('\n'));
  assert.equal(err.text, 'executor-1  | a line that is not a log record\nwaiting: no executor can fit one image task\n');
  assert.doesNotMatch(err.text, /download failed/);
  assert.deepEqual(summary.slice(0, 2), ['the pipeline logged 1 warning/error line:', '  1 x WARN executor: download failed']);
});

test('BatchDisplay on a TTY: a child JSON log line above the bar reads as text, its warnings are summarised as text', () => {
  const out = fakeStream(true);
  const err = fakeStream(true);
  const display = new BatchDisplay(out, err);
  display.progress(p({ completed: 1, elapsedMs: 1000 }));
  display.childLine('scheduler   | {"level":"info","time":"2026-11-22T05:00:00.000Z","proc":"scheduler","msg":"leading","epoch":3}');
  display.childLine('executor-1  | {"level":"warn","time":"2026-11-22T05:00:01.000Z","proc":"executor-1","msg":"task ended","state":"TASK_FAILED"}');
  const summary = display.finish();
  assert.match(err.text, /^scheduler {3}\| \[\d\d:\d\d:\d\d\.\d{3}\] INFO: leading .*"epoch":3/);
  assert.doesNotMatch(err.text, /"level"/);
  assert.deepEqual(summary.slice(0, 2), ['the pipeline logged 1 warning/error line:', '  1 x WARN executor: task ended']);
  assert.ok(summary.some((l) => /WARN: task ended/.test(l) && !l.includes('"level"')), summary.join('\n'));
});

test('BatchDisplay on a pipe: plain progress lines at most every 2 s, child lines passed through', () => {
  const out = fakeStream(false);
  const err = fakeStream(false);
  let now = 0;
  const display = new BatchDisplay(out, err, () => now);
  display.progress(p({ completed: 1, elapsedMs: 1000 }));
  now = 1000;
  display.progress(p({ completed: 2, elapsedMs: 2000 }));
  now = 2500;
  display.progress(p({ completed: 3, elapsedMs: 3000 }));
  display.childLine('executor-1  | WARN  download failed');
  assert.equal(out.text, '1/10 done (1 ok, 0 failed), 0 running, 9 waiting, 1.0 images/s\n3/10 done (3 ok, 0 failed), 0 running, 7 waiting, 1.0 images/s\n');
  assert.equal(err.text, 'executor-1  | WARN  download failed\n');
  assert.deepEqual(display.finish(), []);
  assert.doesNotMatch(out.text, /\x1b/);
});

test('buildManifest: every URL in list order with its output, or its reason and attempt N/M', () => {
  const outcome: BatchOutcome = {
    elapsedMs: 1234,
    completed: [
      { id: '2', url: 'http://h/b.png', result: { name: 'b-1.png', format: 'png', width: 2, height: 3, bytes: 40 } as never },
      { id: '1', url: 'http://h/a.png', result: { name: 'a-1.png', format: 'png', width: 1, height: 1, bytes: 10 } as never },
    ],
    failed: [{ id: '3', url: 'http://h/c.png', reason: 'DOWNLOAD_NOT_FOUND: 404', attempts: 1, maxAttempts: 8 }],
  };
  const lineOf = new Map([
    ['http://h/a.png', 1],
    ['http://h/c.png', 2],
    ['http://h/b.png', 5],
  ]);
  const m = buildManifest(outcome, { list: 'images.txt', queue: 'q', finishedAt: new Date(0), lineOf });
  assert.deepEqual([m.total, m.completed, m.failed, m.finishedAt, m.elapsedMs], [3, 2, 1, '1970-01-01T00:00:00.000Z', 1234]);
  assert.deepEqual(m.entries, [
    { url: 'http://h/a.png', line: 1, status: 'ok', output: 'a-1.png', format: 'png', width: 1, height: 1, bytes: 10 },
    { url: 'http://h/c.png', line: 2, status: 'failed', reason: 'DOWNLOAD_NOT_FOUND: 404', attempt: '1/8' },
    { url: 'http://h/b.png', line: 5, status: 'ok', output: 'b-1.png', format: 'png', width: 2, height: 3, bytes: 40 },
  ]);
});

test('unplaceableStep: gives up only after the reason held for the whole wait', () => {
  const wait = 30_000;
  let t = unplaceableStep({ sinceMs: undefined, reason: undefined }, undefined, 0, wait);
  assert.deepEqual(t, { sinceMs: undefined, reason: undefined, giveUp: false, changed: false });
  t = unplaceableStep(t, 'too big', 1000, wait);
  assert.deepEqual(t, { sinceMs: 1000, reason: 'too big', giveUp: false, changed: true });
  t = unplaceableStep(t, 'too big', 30_999, wait);
  assert.deepEqual([t.giveUp, t.changed], [false, false]);
  const cleared = unplaceableStep(t, undefined, 31_000, wait);
  assert.deepEqual(cleared, { sinceMs: undefined, reason: undefined, giveUp: false, changed: true });
  assert.equal(unplaceableStep(cleared, 'too big', 32_000, wait).giveUp, false, 'a break restarts the wait');
  assert.equal(unplaceableStep(t, 'too big', 31_000, wait).giveUp, true);
  assert.equal(unplaceableStep({ sinceMs: undefined, reason: undefined }, 'x', 5, 0).giveUp, true, 'a wait of 0 gives up at once');
});

test('unplaceableOf tolerates a missing or malformed state', () => {
  assert.equal(unplaceableOf(null), undefined);
  assert.equal(unplaceableOf('not json'), undefined);
  assert.equal(unplaceableOf('{"version":1}'), undefined);
  assert.equal(unplaceableOf('{"unplaceable":"no executor can fit"}'), 'no executor can fit');
});

test('BatchDisplay on a TTY that reports 0 columns still draws a bar (80 assumed)', () => {
  const out = fakeStream(true, 0);
  const display = new BatchDisplay(out, fakeStream(true));
  display.progress(p({ completed: 5, elapsedMs: 1000 }));
  assert.match(out.text, /^\r\x1b\[K\[#+-+\]  5\/10/);
});
