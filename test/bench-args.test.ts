import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseBenchArgs, UsageError, type BenchArgs } from '../bench/bench-args.js';

function parsed(argv: string[]): BenchArgs {
  const args = parseBenchArgs(argv);
  assert.notEqual(args, 'help');
  return args as BenchArgs;
}

test('bench flags: defaults run everything on 120 generated images, sweeping 2,4,8,16', () => {
  const args = parsed([]);
  assert.equal(args.images, undefined);
  assert.equal(args.count, 120);
  assert.equal(args.limit, Number.POSITIVE_INFINITY);
  assert.equal(args.repeat, 1);
  assert.equal(args.executors, 1);
  assert.deepEqual(args.concurrency, [2, 4, 8, 16]);
  assert.deepEqual([...args.only], ['a', 'b', 'c', 'd']);
});

test('bench flags: values are read, lists deduplicated and sorted', () => {
  const args = parsed(['--images', 'x', '--limit', '5', '--repeat', '3', '--executors', '2', '--concurrency', '8,2,8', '--only', 'D,a']);
  assert.equal(args.images, 'x');
  assert.equal(args.limit, 5);
  assert.equal(args.repeat, 3);
  assert.equal(args.executors, 2);
  assert.deepEqual(args.concurrency, [2, 8]);
  assert.deepEqual([...args.only].sort(), ['a', 'd']);
});

test('bench flags: --help and -h ask for the usage, whatever else is given', () => {
  assert.equal(parseBenchArgs(['--help']), 'help');
  assert.equal(parseBenchArgs(['--count', '3', '-h']), 'help');
});

const BAD: Array<[string[], RegExp]> = [
  [['--bogus'], /^unknown option --bogus$/],
  [['stray'], /^unexpected argument "stray"$/],
  [['--count'], /^--count needs a value$/],
  [['--count', '0'], /--count must be a whole number/],
  [['--count', '1.5'], /--count must be a whole number/],
  [['--limit', 'ten'], /--limit must be a whole number/],
  [['--executors', '65'], /--executors must be a whole number from 1 to 64/],
  [['--concurrency', '2,,4'], /--concurrency must be a whole number/],
  [['--only', 'a,e'], /--only takes a comma-separated list of a,b,c,d/],
  [['--only', ''], /--only takes/],
  [['--images', ' '], /--images needs a directory/],
];

for (const [argv, message] of BAD) {
  test(`bench flags: ${JSON.stringify(argv)} is one clear problem`, () => {
    assert.throws(() => parseBenchArgs(argv), (err: unknown) => err instanceof UsageError && message.test(err.message) && !err.message.includes('\n'));
  });
}
