/** The logger (JSON lines, readable lines for a terminal) and LOG_LEVEL checked in every process and CLI. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { ConfigError, EnvReader } from '../common/config.js';
import { createLogger, logLevelProblem, prettyLine } from '../common/log.js';

describe('logLevelProblem', () => {
  const cases: [string | undefined, boolean][] = [
    [undefined, false],
    ['', false],
    ['trace', false],
    ['debug', false],
    ['info', false],
    [' warn ', false],
    ['error', false],
    ['fatal', false],
    ['silent', false],
    ['verbose', true],
    ['INFO', true],
    ['warning', true],
  ];
  for (const [value, bad] of cases) {
    it(`${JSON.stringify(value)} is ${bad ? 'refused' : 'accepted'}`, () => assert.equal(logLevelProblem(value) !== undefined, bad));
  }

  it('is listed with the other configuration problems', () => {
    const reader = new EnvReader({ LOG_LEVEL: 'verbose', N: 'x' });
    reader.int('N', 1);
    assert.throws(
      () => reader.done({}),
      (err: unknown) =>
        err instanceof ConfigError &&
        err.problems.length === 2 &&
        err.problems[1] === 'LOG_LEVEL="verbose" is not a log level (trace, debug, info, warn, error, fatal, silent)',
    );
  });
});

describe('createLogger', () => {
  const capture = (level: 'debug' | 'info' | 'silent' = 'info') => {
    const lines: string[] = [];
    const log = createLogger({ proc: 'p', epoch: 1 }, level, (l) => lines.push(l));
    const parsed = () => lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    return { log, lines, parsed };
  };

  it('writes one JSON object per line: level name, ISO time, base, fields, msg', () => {
    const { log, lines, parsed } = capture();
    log.warn('something', { n: 2, text: 'a b' });
    assert.equal(lines.length, 1);
    const { time, ...rest } = parsed()[0]!;
    assert.match(String(time), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    assert.deepEqual(rest, { level: 'warn', proc: 'p', epoch: 1, n: 2, text: 'a b', msg: 'something' });
  });

  it('logs an Error by its message, and its code when it has one; undefined fields are left out', () => {
    const { log, parsed } = capture();
    log.error('failed', { error: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }), cause: new Error('plain'), gone: undefined });
    const { time: _t, ...rest } = parsed()[0]!;
    assert.deepEqual(rest, { level: 'error', proc: 'p', epoch: 1, error: 'connect ECONNREFUSED', errorCode: 'ECONNREFUSED', cause: 'plain', msg: 'failed' });
  });

  it('a child adds fields; a field given again appears once, with the latest value', () => {
    const { log, lines } = capture();
    log.child({ epoch: 2, job: 'j' }).info('x', { job: 'k' });
    assert.equal((lines[0]!.match(/"job"/g) ?? []).length, 1);
    assert.equal((lines[0]!.match(/"epoch"/g) ?? []).length, 1);
    assert.deepEqual(JSON.parse(lines[0]!).epoch, 2);
    assert.deepEqual(JSON.parse(lines[0]!).job, 'k');
  });

  it('drops what is below its level', () => {
    const info = capture('info');
    info.log.debug('hidden');
    info.log.info('shown');
    assert.deepEqual(info.parsed().map((l) => l.msg), ['shown']);
    const silent = capture('silent');
    silent.log.error('nothing');
    assert.equal(silent.lines.length, 0);
  });
});

describe('prettyLine', () => {
  it('makes a JSON log line readable and leaves anything else alone', () => {
    const line = prettyLine('{"level":"warn","time":"2026-01-01T10:00:00.000Z","proc":"scheduler","msg":"job failed for good","job":"7"}');
    assert.match(line, /WARN/);
    assert.match(line, /job failed for good/);
    assert.match(line, /"job":"7"/);
    assert.doesNotMatch(line, /"level"/);
    assert.equal(prettyLine('plain text {not json}'), 'plain text {not json}');
    assert.equal(prettyLine('{"no":"msg"}'), '{"no":"msg"}');
  });
});

describe('LOG_LEVEL=verbose is a configuration error (exit 2) everywhere', () => {
  const dist = (p: string) => fileURLToPath(new URL(`../${p}`, import.meta.url));
  const programs: [string, string[]][] = [
    ['scheduler/main.js', []],
    ['executor/main.js', []],
    ['fileserver/main.js', []],
    ['cli/start.js', []],
    ['cli/batch.js', ['images.txt']],
    ['cli/enqueue.js', ['images.txt']],
    ['cli/cancel.js', ['1']],
    ['cli/service.js', ['list']],
  ];
  for (const [script, args] of programs) {
    it(script, () => {
      // A Redis nobody listens on: nothing may get as far as connecting.
      const env = { PATH: process.env.PATH ?? '', LOG_LEVEL: 'verbose', REDIS_URL: 'redis://127.0.0.1:1', UPLOAD_TOKEN: 'x', QUEUE_NAME: 'log-level-test' };
      const run = spawnSync(process.execPath, [dist(script), ...args], { env, encoding: 'utf8', timeout: 20_000 });
      assert.equal(run.status, 2, run.stdout + run.stderr);
      assert.match(run.stderr, /LOG_LEVEL="verbose" is not a log level/);
    });
  }
});
