import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RepeatLimiter, type ErrorVerdict, type Recovery } from '../common/repeat-limiter.js';

type Event = ['error', number, ErrorVerdict['kind'] | `summary ${number}/${number}`] | ['recovered', number, Recovery | undefined];

/** Events at seconds, with a 30 s interval, and what each must give. */
const cases: [string, Event[]][] = [
  ['the first error is logged', [['error', 0, 'first']]],
  [
    'errors every 0.5 s: one summary per 30 s with the count since the last line',
    [
      ['error', 0, 'first'],
      ['error', 0.5, 'quiet'],
      ['error', 29.5, 'quiet'],
      ['error', 30, 'summary 3/30000'],
      ['error', 31, 'quiet'],
      ['error', 60, 'summary 2/30000'],
    ],
  ],
  ['a gap longer than the interval gives a summary at the next error', [['error', 0, 'first'], ['error', 95, 'summary 1/95000']]],
  ['recovery reports the whole run once', [['error', 10, 'first'], ['error', 11, 'quiet'], ['error', 45, 'summary 2/35000'], ['recovered', 50, { errors: 3, downMs: 40_000 }], ['recovered', 51, undefined]]],
  ['no recovery without errors', [['recovered', 5, undefined]]],
  ['after a recovery the next error is a first again', [['error', 0, 'first'], ['recovered', 1, { errors: 1, downMs: 1000 }], ['error', 2, 'first'], ['error', 3, 'quiet']]],
];

describe('RepeatLimiter', () => {
  for (const [name, events] of cases) {
    it(name, () => {
      const limiter = new RepeatLimiter(30_000);
      for (const [kind, atS, expected] of events) {
        if (kind === 'error') {
          const verdict = limiter.error(atS * 1000);
          const got = verdict.kind === 'summary' ? `summary ${verdict.count}/${verdict.windowMs}` : verdict.kind;
          assert.equal(got, expected, `error at ${atS} s`);
        } else assert.deepEqual(limiter.recovered(atS * 1000), expected, `recovered at ${atS} s`);
      }
    });
  }
});
