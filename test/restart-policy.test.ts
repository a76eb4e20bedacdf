import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_RESTART_POLICY, nextRestart, type Death, type RestartPolicy } from '../stack/restart-policy.js';

/** A death at `at` seconds after running `up` seconds. */
const d = (at: number, up: number): Death => ({ atMs: at * 1000, upMs: up * 1000 });

describe('nextRestart with the default policy (1 s doubling to 30 s, reset after 60 s up, give up past 5 restarts in 5 min)', () => {
  const cases: [string, Death[], Death, number | 'give up'][] = [
    ['first death after a long run', [], d(3600, 3600), 1000],
    ['first death right after start', [], d(2, 2), 1000],
    ['second quick death doubles', [d(10, 10)], d(15, 4), 2000],
    ['fifth quick death in a row', [d(10, 10), d(12, 1), d(16, 2), d(21, 1)], d(30, 1), 16_000],
    ['a long run before this death starts over', [d(10, 10), d(12, 1), d(16, 2)], d(200, 180), 1000],
    ['exactly stableAfterMs counts as long', [d(10, 10), d(12, 1)], d(74, 60), 1000],
    ['just under stableAfterMs is still quick', [d(10, 10), d(12, 1)], d(73.999, 59.999), 4000],
    ['the streak starts at the death after a long run', [d(10, 10), d(100, 89), d(102, 1)], d(105, 1), 4000],
    ['delay is capped', [d(0, 50), d(90, 50), d(200, 50), d(350, 50), d(600, 50), d(1000, 50), d(1500, 50)], d(2000, 50), 30_000],
    ['sixth death within 5 min gives up', [d(10, 10), d(12, 1), d(16, 2), d(21, 1), d(30, 1)], d(47, 1), 'give up'],
    ['sixth death gives up even after long runs', [d(70, 70), d(131, 60), d(192, 60), d(253, 60), d(314, 60)], d(360, 45), 'give up'],
    ['deaths older than the window do not count', [d(10, 10), d(12, 1), d(16, 2), d(21, 1), d(30, 1)], d(310, 1), 30_000 /* a streak of 6: 32 s, capped */],
    ['a death exactly one window ago has left it', [d(10, 10), d(20, 1), d(30, 1), d(40, 1), d(50, 1)], d(310, 200), 1000],
  ];
  for (const [name, previous, death, expected] of cases) {
    it(name, () => {
      const decision = nextRestart(previous, death);
      if (expected === 'give up') {
        assert.equal(decision.restart, false);
        assert.equal(decision.restart === false && decision.reason, 'died 6 times within 300 s');
      } else {
        assert.deepEqual(decision.restart && decision.delayMs, expected);
      }
    });
  }
});

describe('nextRestart with other policies', () => {
  const policy = (p: Partial<RestartPolicy>): RestartPolicy => ({ ...DEFAULT_RESTART_POLICY, ...p });
  const cases: [string, Partial<RestartPolicy>, Death[], Death, number | 'give up'][] = [
    ['maxRestarts 0 never restarts', { maxRestarts: 0 }, [], d(100, 100), 'give up'],
    ['maxRestarts 1 restarts once', { maxRestarts: 1 }, [], d(100, 100), 50],
    ['maxRestarts 1 gives up on the second death', { maxRestarts: 1 }, [d(50, 50)], d(100, 49), 'give up'],
    ['cap below the doubled delay', { maxDelayMs: 70 }, [d(1, 1)], d(2, 0.5), 70],
    ['a long streak does not overflow', { maxRestarts: 10_000 }, Array.from({ length: 2000 }, (_, i) => d(i * 0.1, 0.05)), d(200, 0.05), 30_000],
  ];
  for (const [name, overrides, previous, death, expected] of cases) {
    it(name, () => {
      const decision = nextRestart(previous, death, policy({ initialDelayMs: 50, ...overrides }));
      if (expected === 'give up') assert.equal(decision.restart, false);
      else assert.equal(decision.restart && decision.delayMs, expected);
    });
  }

  it('counts the deaths within the window, this one included', () => {
    assert.equal(nextRestart([d(1, 1), d(400, 10), d(450, 10)], d(500, 10)).recentDeaths, 3);
  });
});
