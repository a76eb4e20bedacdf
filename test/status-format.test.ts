/** The pure parts of `status`: argument parsing, snapshot parsing and the text it prints. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parsePresence, parseState, queueCountsFrom, type ClusterSnapshot } from '../client/cluster-snapshot.js';
import { parseStatusArgs, StatusUsageError } from '../client/status-args.js';
import { bar, formatStatus, printable } from '../client/status-format.js';
import type { ClusterState, PublishedExecutor } from '../common/cluster-state.js';

const NOW = 1_700_000_100_000;

describe('parseStatusArgs', () => {
  const ok: [string, string[], object][] = [
    ['nothing', [], { kind: 'status', json: false }],
    ['--json', ['--json'], { kind: 'status', json: true }],
    ['--watch alone', ['--watch'], { kind: 'status', json: false, watchSeconds: 2 }],
    ['--watch 5', ['--watch', '5'], { kind: 'status', json: false, watchSeconds: 5 }],
    ['--watch=0.5 --json', ['--watch=0.5', '--json'], { kind: 'status', json: true, watchSeconds: 0.5 }],
    ['--watch then a flag', ['--watch', '--queue', 'q1'], { kind: 'status', json: false, watchSeconds: 2, queueName: 'q1' }],
    ['--queue=x', ['--queue=x'], { kind: 'status', json: false, queueName: 'x' }],
    ['--help wins', ['--json', '--help'], { kind: 'help' }],
    ['-h', ['-h'], { kind: 'help' }],
  ];
  for (const [name, args, want] of ok) it(name, () => assert.deepEqual(parseStatusArgs(args), want));

  const bad: [string, string[], RegExp][] = [
    ['unknown flag', ['--wat'], /unknown option "--wat"/],
    ['stray argument', ['images'], /unexpected argument "images"/],
    ['watch not a number', ['--watch', 'soon'], /unexpected argument "soon"|--watch takes seconds/],
    ['watch zero', ['--watch', '0'], /--watch takes seconds from 0.2 to 3600, got "0"/],
    ['watch negative inline', ['--watch=-1'], /--watch takes seconds/],
    ['queue missing', ['--queue'], /--queue needs a queue name/],
    ['queue with colon', ['--queue', 'a:b'], /--queue="a:b" is not a queue name/],
    ['queue glob', ['--queue', '*'], /--queue="\*" is not a queue name/],
    ['json with value', ['--json=yes'], /--json takes no value/],
  ];
  for (const [name, args, want] of bad) {
    it(`rejects: ${name}`, () => assert.throws(() => parseStatusArgs(args), (err: Error) => err instanceof StatusUsageError && want.test(err.message)));
  }
});

describe('snapshot parsing', () => {
  it('counts: waiting and prioritized stay apart, missing states are 0', () => {
    assert.deepEqual(queueCountsFrom({ waiting: 3, prioritized: 2, active: 1, 'waiting-children': 1, failed: 9 }, false), {
      waiting: 3, prioritized: 2, active: 1, delayed: 0, paused: 0, waitingChildren: 1, completed: 0, failed: 9,
    });
  });
  it('counts: a paused queue holds its waiting and prioritized jobs', () => {
    assert.equal(queueCountsFrom({ waiting: 3, prioritized: 2 }, true).paused, 5);
  });
  it('presence and state: garbage is skipped, not thrown', () => {
    assert.equal(parsePresence('{nope'), undefined);
    assert.equal(parsePresence('{"role":"leader"}'), undefined);
    assert.deepEqual(parsePresence('{"schedulerId":"s1","role":"standby","sinceMs":5}'), { schedulerId: 's1', role: 'standby', sinceMs: 5 });
    assert.equal(parseState('[]'), null);
    assert.equal(parseState('{"version":2,"executors":[]}'), null);
    assert.equal(parseState(null), null);
  });
});

describe('bar and printable', () => {
  const bars: [number, number, string][] = [
    [0, 4, '[----------]'],
    [2, 4, '[#####-----]'],
    [4, 4, '[##########]'],
    [9, 4, '[##########]'],
    [1, 0, '[----------]'],
  ];
  for (const [used, total, want] of bars) it(`bar(${used}, ${total})`, () => assert.equal(bar(used, total), want));
  it('control characters from Redis are shown, not sent to the terminal', () => {
    assert.equal(printable('a\x1b[2Jb\n'), 'a\\x1b[2Jb\\x0a');
  });
});

function executor(over: Partial<PublishedExecutor> = {}): PublishedExecutor {
  return {
    id: 'executor-1', hostname: 'h', advertiseHost: '127.0.0.1',
    total: { cpus: 2, memMb: 2048, ports: [] }, used: { cpus: 1, memMb: 512, ports: [] },
    running: 1, declined: false, draining: false, inboxHealthy: true, lost: false, lastHeartbeatMs: NOW,
    tasks: [{ taskId: 't1', kind: 'images', state: 'TASK_RUNNING', stage: 'download', startedAtMs: NOW - 7_000, adopted: false, runs: [{ jobId: '42', url: 'http://src/cat.png', state: 'TASK_RUNNING', stage: 'download' }] }],
    ...over,
  };
}

function state(over: Partial<ClusterState> = {}): ClusterState {
  return {
    version: 1, publishedAtMs: NOW - 500, leader: { schedulerId: 'sched-a', epoch: 7, sinceMs: NOW - 125_000 },
    taskDemand: { cpus: 0.5, memMb: 256, ports: 0 },
    executors: [executor(), executor({ id: 'executor-2', lost: true, declined: true, tasks: [], used: { cpus: 0, memMb: 0, ports: [] } })],
    offers: { received: 30, accepted: 12, declined: 18, parkedJobs: 1 },
    circuits: [{ host: 'slow.example', state: 'open', failures: 3, openUntilMs: NOW + 1000 }],
    recent: [
      { jobId: '41', url: 'http://src/missing.png', outcome: 'fail', reason: 'DOWNLOAD_NOT_FOUND', attempt: '1/8', atMs: NOW - 3_000 },
      { jobId: '40', url: 'http://src/dog.png', outcome: 'complete', output: 'dog-abc.png', attempt: '1/8', atMs: NOW - 4_000 },
      { jobId: '39', url: 'http://src/flaky.png', outcome: 'retry', reason: 'DOWNLOAD_HTTP_5XX', attempt: '2/8', atMs: NOW - 5_000 },
    ],
    ...over,
  };
}

function snapshot(over: Partial<ClusterSnapshot> = {}): ClusterSnapshot {
  return {
    queueName: 'images', atMs: NOW,
    queue: { paused: false, counts: { waiting: 5, prioritized: 1, active: 1, delayed: 2, paused: 0, waitingChildren: 0, completed: 120, failed: 3 } },
    leader: { schedulerId: 'sched-a', epoch: 7, sinceMs: NOW - 125_000 },
    schedulers: [{ schedulerId: 'sched-a', role: 'leader' }, { schedulerId: 'sched-b', role: 'standby' }],
    state: state(), stateTtlSeconds: 10, services: [],
    ...over,
  };
}

describe('formatStatus', () => {
  const text = (s: ClusterSnapshot) => formatStatus(s, { nowMs: NOW }).join('\n');

  it('counts every state, waiting including prioritized', () => {
    assert.match(text(snapshot()), /^ {2}waiting 6 {2}active 1 {2}delayed 2 {2}paused 0 {2}completed 120 {2}failed 3$/m);
  });
  it('a paused queue says so on its first line', () => {
    assert.equal(formatStatus(snapshot({ queue: { ...snapshot().queue, paused: true } }), { nowMs: NOW })[0], 'queue "images"  PAUSED');
  });
  it('leader with epoch, age and standbys', () => {
    assert.match(text(snapshot()), /^leader: sched-a \(epoch 7, leading for 2m05s\); standbys: sched-b$/m);
  });
  it('executors with resources, flags and running jobs with stage and age', () => {
    const t = text(snapshot());
    assert.match(t, /^ {2}executor-1 {2}cpus 1\/2 \[#####-----\] {2}mem 512\/2048 MB \[###-------\] {2}1 task$/m);
    assert.match(t, /^ {2}executor-2 .*0 tasks {2}LOST declined$/m);
    assert.match(t, /^ {4}job 42 {2}download {2}7s {2}http:\/\/src\/cat\.png$/m);
  });
  it('offers, parked jobs and open circuits', () => {
    const t = text(snapshot());
    assert.match(t, /^offers: received 30, accepted 12, declined 18; parked jobs 1$/m);
    assert.match(t, /^circuits: slow\.example open \(3 failures\)$/m);
  });
  it('failures (fail and retry) with reason and attempt N/M, newest first; completions apart', () => {
    const t = text(snapshot());
    const failures = t.slice(t.indexOf('last failures:'), t.indexOf('last completed:'));
    assert.match(failures, /job 41 {2}fail {2}DOWNLOAD_NOT_FOUND {2}attempt 1\/8 {2}3s ago/);
    assert.match(failures, /job 39 {2}retry {2}DOWNLOAD_HTTP_5XX {2}attempt 2\/8/);
    assert.ok(failures.indexOf('job 41') < failures.indexOf('job 39'));
    assert.doesNotMatch(failures, /job 40/);
    assert.match(t, /last completed:\n {2}job 40 {2}complete {2}-> dog-abc\.png/);
  });
  it('unplaceable is shown right under the counts', () => {
    const lines = formatStatus(snapshot({ state: state({ unplaceable: 'no executor can fit one image task' }) }), { nowMs: NOW });
    assert.equal(lines[3], '!! UNPLACEABLE: no executor can fit one image task');
  });
  it('no published state: one clear line naming the queue, and no executor section', () => {
    const t = text(snapshot({ state: null, leader: undefined, schedulers: [], queueName: 'q9' }));
    assert.match(t, /^leader: none$/m);
    assert.match(t, /^!! no leading scheduler has published state in the last 10 s: is `npm start` or `npm run scheduler` running on queue "q9"\?$/m);
    assert.doesNotMatch(t, /executors/);
  });
  it('a run waiting its turn in a multi-image task reads queued, not "none"', () => {
    const runs = [
      { jobId: '50', url: 'u', state: 'TASK_RUNNING', stage: 'invert' },
      { jobId: '51', url: 'u', state: 'TASK_RUNNING', stage: 'none' },
      { jobId: '52', url: 'u', state: 'TASK_STAGING', stage: '' },
    ];
    const e = executor({ tasks: [{ taskId: 't', kind: 'images', state: 'TASK_RUNNING', stage: 'invert', startedAtMs: NOW, adopted: false, runs }] });
    const t = text(snapshot({ state: state({ executors: [e] }) }));
    assert.match(t, /^ {4}job 50 {2}invert /m);
    assert.match(t, /^ {4}job 51 {2}queued /m);
    assert.match(t, /^ {4}job 52 {2}queued /m);
    assert.doesNotMatch(t, / none /);
  });
  it('many runs on one executor are cut with a count', () => {
    const runs = Array.from({ length: 13 }, (_, i) => ({ jobId: String(i), url: 'u', state: 'TASK_RUNNING', stage: 'invert' }));
    const e = executor({ tasks: [{ taskId: 't', kind: 'images', state: 'TASK_RUNNING', stage: '', startedAtMs: NOW, adopted: false, runs }] });
    const t = text(snapshot({ state: state({ executors: [e] }) }));
    assert.match(t, /^ {4}\.\.\. and 3 more$/m);
  });
  it('services are listed when there are some', () => {
    const t = text(snapshot({ services: [{ service: 'hello', instance: 0, executor: 'executor-1', address: '127.0.0.1:31000', state: 'RUNNING', health: 'healthy', ageSeconds: 16 }] }));
    assert.match(t, /services:\n {2}SERVICE +INSTANCE.*\n {2}hello +0 +executor-1 +127\.0\.0\.1:31000 +RUNNING +healthy +16s/);
  });
  it('escape sequences in URLs and ids from Redis are neutralised', () => {
    const e = executor({ id: 'ex\x1b[31m' });
    const t = text(snapshot({ state: state({ executors: [e] }) }));
    assert.ok(!t.includes('\x1b'));
  });
});
