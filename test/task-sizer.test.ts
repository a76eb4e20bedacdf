/** TaskSizer and splitEvenly: how many images a task carries and how many cpus it asks for. Pure. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { splitEvenly, TaskSizer } from '../scheduler/task-sizer.js';

const opts = { maxImages: 64, targetTaskMs: 250 };

test('imagesPerTask: one until measured, then as many as last about the target, at most maxImages', () => {
  const cases: { name: string; observe: [string, number, number][]; host?: string; want: number }[] = [
    { name: 'nothing measured', observe: [], want: 1 },
    { name: 'light images, 20 ms each', observe: [['a', 20, 8]], want: 12 },
    { name: 'very light images hit the cap', observe: [['a', 1, 0.5]], want: 64 },
    { name: 'a light image slower than the target still runs', observe: [['a', 400, 30]], want: 1 },
    // Heavy inversions (>= 50 ms) keep a whole cpu busy: a second image downloads meanwhile.
    { name: 'heavy images carry two', observe: [['a', 600, 300]], want: 2 },
    { name: 'heavy but quick enough for more: the target decides', observe: [['a', 60, 55]], want: 4 },
    { name: 'another host unmeasured', observe: [['a', 20, 8]], host: 'b', want: 1 },
    { name: 'the last host measured is the default', observe: [['a', 20, 8], ['b', 600, 300]], want: 2 },
  ];
  for (const c of cases) {
    const sizer = new TaskSizer(opts);
    for (const [host, ms, invertMs] of c.observe) sizer.observe(host, ms, invertMs);
    assert.equal(c.host === undefined ? sizer.imagesPerTask() : sizer.imagesPerTask(c.host), c.want, c.name);
  }
});

test('imagesPerTask: maxImages 1 turns batching off, heavy images included', () => {
  const sizer = new TaskSizer({ maxImages: 1, targetTaskMs: 250 });
  sizer.observe('a', 600, 300);
  assert.equal(sizer.imagesPerTask('a'), 1);
});

test('observe: an average that moves a fifth of the way per run; nonsense ignored', () => {
  const sizer = new TaskSizer(opts);
  sizer.observe('a', 100, 10);
  sizer.observe('a', 200, 10);
  sizer.observe('a', Number.NaN, 10);
  sizer.observe('a', -5, 10);
  assert.deepEqual(sizer.view(), [{ host: 'a', imageMs: 120, invertMs: 10, imagesPerTask: 2 }]);
});

test('cpusPerTask: heavy images a whole cpu, or all an executor with less has; light ones TASK_CPUS', () => {
  const sizer = new TaskSizer(opts);
  assert.equal(sizer.cpusPerTask(0.5, 2, 'a'), 0.5, 'unmeasured');
  sizer.observe('light', 20, 8);
  sizer.observe('heavy', 600, 300);
  assert.equal(sizer.cpusPerTask(0.5, 2, 'light'), 0.5);
  assert.equal(sizer.cpusPerTask(0.5, 2, 'heavy'), 1);
  assert.equal(sizer.cpusPerTask(0.5, 0.75, 'heavy'), 0.75);
  assert.equal(sizer.cpusPerTask(2, 4, 'heavy'), 2, 'never less than TASK_CPUS');
});

test('splitEvenly: as even as possible over the slots, none over the cap', () => {
  assert.deepEqual(splitEvenly(10, 3, 64), [4, 3, 3]);
  assert.deepEqual(splitEvenly(2, 4, 64), [1, 1]);
  assert.deepEqual(splitEvenly(200, 2, 64), [64, 64]);
  assert.deepEqual(splitEvenly(0, 4, 64), []);
  assert.deepEqual(splitEvenly(5, 0, 64), []);
});
