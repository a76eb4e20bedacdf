/** The pure parts of the service and cancel commands: argument checking, the list's rows, port slices. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { describeSummary } from '../client/cancel-jobs.js';
import { parseServiceArgs, ServiceUsageError } from '../client/service-args.js';
import { formatAge, formatRows, instanceRows } from '../client/service-list.js';
import type { ClusterState } from '../common/cluster-state.js';
import { parseService, serializeService, type ServiceDef } from '../common/service-def.js';
import { portSlices } from '../stack/port-slices.js';

describe('parseServiceArgs', () => {
  const ok: [string, string[], object][] = [
    ['start with text', ['start', 'hello', '--instances', '2', '--text', 'Hello from Server'], { kind: 'start', name: 'hello', instances: 2, text: 'Hello from Server', cpus: 0.1, memMb: 64, healthPath: '/healthz' }],
    ['start with a file and sizes', ['start', 'web-1', '--instances', '0', '--file', 'index.html', '--cpus', '0.5', '--mem', '128', '--health-path', '/'], { kind: 'start', name: 'web-1', instances: 0, file: 'index.html', cpus: 0.5, memMb: 128, healthPath: '/' }],
    ['list', ['list'], { kind: 'list', json: false }],
    ['list --json', ['list', '--json'], { kind: 'list', json: true }],
    ['scale', ['scale', 'hello', '3'], { kind: 'scale', name: 'hello', instances: 3 }],
    ['stop', ['stop', 'hello'], { kind: 'stop', name: 'hello' }],
    ['no command', [], { kind: 'help' }],
    ['--help', ['start', '--help'], { kind: 'help' }],
  ];
  for (const [name, args, want] of ok) it(name, () => assert.deepEqual(parseServiceArgs(args), want));

  const bad: [string, string[], RegExp][] = [
    ['unknown command', ['launch', 'x'], /unknown command "launch"/],
    ['negative scale', ['scale', 'hello', '-1'], /whole number from 0 to 100, got -1/],
    ['negative instances', ['start', 'hello', '--instances', '-2', '--text', 'x'], /got -2/],
    ['not a number', ['scale', 'hello', 'many'], /must be a whole number, got "many"/],
    ['too many', ['scale', 'hello', '101'], /from 0 to 100/],
    ['bad name', ['start', 'Hello_World', '--instances', '1', '--text', 'x'], /service name "Hello_World"/],
    ['both text and file', ['start', 'a', '--instances', '1', '--text', 'x', '--file', 'f'], /either --text or --file, not both/],
    ['neither', ['start', 'a', '--instances', '1'], /--text "..." or --file F/],
    ['missing instances', ['start', 'a', '--text', 'x'], /--instances is missing/],
    ['missing name', ['scale'], /needs a service NAME/],
    ['extra argument', ['stop', 'a', 'b'], /unexpected argument "b"/],
    ['unknown option', ['list', '--colour'], /Unknown option '--colour'/],
    ['bad health path', ['start', 'a', '--instances', '1', '--text', 'x', '--health-path', 'health'], /must start with "\/"/],
  ];
  for (const [name, args, message] of bad) {
    it(`rejects: ${name}`, () => assert.throws(() => parseServiceArgs(args), (err: unknown) => err instanceof ServiceUsageError && message.test(err.message)));
  }
});

describe('service definitions', () => {
  it('round-trip through their stored form, body included', () => {
    const def: ServiceDef = { name: 'a', instances: 2, body: Buffer.from([0, 1, 2, 255]), contentType: 'application/octet-stream', cpus: 0.2, memMb: 64, healthPath: '/h', createdAtMs: 1, updatedAtMs: 2 };
    assert.deepEqual(parseService(serializeService(def)).service, def);
  });
  it('a stored definition that is not one says why', () => {
    assert.match(parseService('{"name":"A"}').problem ?? '', /service name/);
    assert.equal(parseService('nope').problem, 'not JSON');
  });
});

describe('service list rows', () => {
  const def = (name: string, instances: number) => ({ name, instances, body: Buffer.from('x'), contentType: 't', cpus: 0.1, memMb: 64, healthPath: '/healthz', createdAtMs: 0, updatedAtMs: 0 });
  const state = {
    executors: [
      {
        id: 'executor-1', hostname: 'h1', advertiseHost: '10.0.0.5',
        tasks: [
          { taskId: 't1', kind: 'service', state: 'TASK_RUNNING', stage: 'serve', startedAtMs: 1_000, adopted: false, runs: [], service: { name: 'hello', instance: 0, port: 31000, healthy: true } },
          { taskId: 't2', kind: 'service', state: 'TASK_RUNNING', stage: 'serve', startedAtMs: 1_000, adopted: false, runs: [], service: { name: 'hello', instance: 2, port: 31001, healthy: false } },
        ],
      },
    ],
  } as unknown as ClusterState;
  it('shows placed, pending and surplus instances', () => {
    const rows = instanceRows(new Map([['hello', def('hello', 2)]]), state, 62_000);
    assert.deepEqual(rows.map((r) => [r.instance, r.executor, r.address, r.state, r.health, r.ageSeconds]), [
      [0, 'executor-1', '10.0.0.5:31000', 'RUNNING', 'healthy', 61],
      [1, '-', '-', 'PENDING', '-', null],
      [2, 'executor-1', '10.0.0.5:31001', 'STOPPING', 'unhealthy', 61],
    ]);
    assert.match(formatRows(rows), /^hello\s+0\s+executor-1\s+10\.0\.0\.5:31000\s+RUNNING\s+healthy\s+1m01s$/m);
  });
  it('formats ages', () => {
    assert.deepEqual([formatAge(5), formatAge(65), formatAge(3700)], ['5s', '1m05s', '1h01m']);
  });
});

describe('portSlices', () => {
  it('gives each local executor its own part of the range', () => {
    assert.deepEqual(portSlices('31000-32000', 2), ['31000-31499', '31500-31999']);
    assert.deepEqual(portSlices('none', 3), ['none', 'none', 'none']);
    assert.throws(() => portSlices('31000-31001', 3), /cannot give 3 executors a port each/);
    assert.throws(() => portSlices('31000', 1), /one range like/);
  });
});

describe('cancel summary', () => {
  it('says what happened to each job', () => {
    const lines = describeSummary({ removed: { waiting: ['1', '2'], delayed: ['3'] }, killed: ['4'], finishedAnyway: ['5'], stillRunning: [], alreadyFinished: ['6'], notFound: ['99'] });
    assert.deepEqual(lines, [
      'cancelled 4 jobs: 2 waiting removed, 1 delayed removed, 1 running killed',
      'finished before the kill arrived: 5',
      'already finished, left alone: 6',
      'no such job: 99',
    ]);
  });
});
