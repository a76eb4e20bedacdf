import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { neverFits, planLaunch, tasksThatFit, type TaskDemand } from '../scheduler/offer-matching.js';
import type { Resources } from '../protocol/types.js';

const r = (cpus: number, memMb: number, ports: [number, number][] = []): Resources => ({
  cpus,
  memMb,
  ports: ports.map(([begin, end]) => ({ begin, end })),
});
const d = (cpus: number, memMb: number, ports = 0): TaskDemand => ({ cpus, memMb, ports });

describe('tasksThatFit', () => {
  const cases: [string, Resources, TaskDemand, number, number][] = [
    ['cpu bound', r(2, 4096), d(0.5, 256), 64, 4],
    ['memory bound', r(8, 1000), d(0.5, 256), 64, 3],
    ['limit bound', r(64, 65536), d(0.5, 256), 10, 10],
    ['fractional cpus without float drift', r(0.3, 1000), d(0.1, 1), 64, 3],
    ['too small', r(0.25, 4096), d(0.5, 256), 64, 0],
    ['no memory', r(2, 0), d(0.5, 256), 64, 0],
    ['port bound', r(8, 8192, [[31000, 31002]]), d(0.5, 256, 2), 64, 1],
    ['ports across ranges', r(8, 8192, [[31000, 31001], [32000, 32001]]), d(0.5, 256, 1), 64, 4],
    ['ports wanted, none offered', r(8, 8192), d(0.5, 256, 1), 64, 0],
    ['exact fit', r(1.5, 768), d(0.5, 256), 64, 3],
  ];
  for (const [name, offer, demand, limit, expected] of cases) {
    it(name, () => assert.equal(tasksThatFit(offer, demand, limit), expected));
  }
});

describe('planLaunch', () => {
  it('gives each task its own demand-sized slice and distinct ports', () => {
    const slices = planLaunch(r(2, 2048, [[31000, 31001], [32000, 32000]]), d(0.5, 256, 1), 3);
    assert.deepEqual(slices, [r(0.5, 256, [[31000, 31000]]), r(0.5, 256, [[31001, 31001]]), r(0.5, 256, [[32000, 32000]])]);
  });
  it('refuses a count that does not fit', () => {
    assert.throws(() => planLaunch(r(1, 1024), d(0.5, 256), 3), /do not fit/);
  });
  it('neverFits flags executors smaller than one task', () => {
    assert.equal(neverFits(r(0.25, 4096), d(0.5, 256)), true);
    assert.equal(neverFits(r(1, 4096), d(0.5, 256)), false);
  });
});
