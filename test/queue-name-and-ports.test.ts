/** QUEUE_NAME and EXECUTOR_PORTS: one rule each, checked by every loader that reads them. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadBatchConfig } from '../client/batch-config.js';
import { loadClientConfig } from '../client/client-config.js';
import { parseStatusArgs } from '../client/status-args.js';
import { ConfigError } from '../common/config.js';
import { queueNameProblem } from '../common/queue-name.js';
import { loadDashboardConfig } from '../dashboard/dashboard-config.js';
import { loadExecutorConfig } from '../executor/config.js';
import { loadSchedulerConfig } from '../scheduler/config.js';
import { loadStackConfig } from '../stack/stack-config.js';

const loaders: [string, (env: Record<string, string>) => unknown][] = [
  ['scheduler', loadSchedulerConfig],
  ['executor', (env) => loadExecutorConfig({ UPLOAD_TOKEN: 't', ...env })],
  ['stack (npm start)', (env) => loadStackConfig(env, 8080)],
  ['batch', (env) => loadBatchConfig(env)],
  ['client CLIs', loadClientConfig],
  ['dashboard', loadDashboardConfig],
];

function problemsOf(load: () => unknown): string[] {
  try {
    load();
    return [];
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return err.problems;
  }
}

describe('QUEUE_NAME', () => {
  for (const name of ['images', 'a-b_c.d', 'Q9', 'x'.repeat(100)]) {
    it(`accepts ${JSON.stringify(name.slice(0, 20))}`, () => assert.equal(queueNameProblem(name), undefined));
  }
  for (const name of ['*', 'a:b', 'a b', 'imag?s', '[x]', '', 'x'.repeat(101), 'ü', 'a\nb']) {
    it(`rejects ${JSON.stringify(name.slice(0, 20))} quoting it`, () => {
      assert.ok((queueNameProblem(name) ?? '').startsWith(`QUEUE_NAME=${JSON.stringify(name)} is not a queue name: use letters, digits`));
    });
  }
  for (const [who, load] of loaders) {
    it(`${who} rejects QUEUE_NAME='*'`, () => {
      assert.ok(problemsOf(() => load({ QUEUE_NAME: '*' })).some((p) => p.startsWith('QUEUE_NAME="*" is not a queue name')));
      assert.ok(!problemsOf(() => load({ QUEUE_NAME: 'ok.name-1' })).some((p) => p.includes('QUEUE_NAME')));
    });
  }
  it('status --queue uses the same rule', () => {
    assert.throws(() => parseStatusArgs(['--queue', 'q*']), /--queue="q\*" is not a queue name/);
  });
});

describe('EXECUTOR_PORTS', () => {
  const executorPorts = (env: Record<string, string>) => loadExecutorConfig({ UPLOAD_TOKEN: 't', ...env }).resources.ports;
  it('rejects port 0, alone or at the start of a range', () => {
    assert.ok(problemsOf(() => executorPorts({ EXECUTOR_PORTS: '0' })).some((p) => /"0".*port 0/.test(p)));
    assert.ok(problemsOf(() => executorPorts({ EXECUTOR_PORTS: '31000-31010,0-5', EXECUTOR_ALLOW_PRIVILEGED_PORTS: '1' })).some((p) => /"0-5".*port 0/.test(p)));
    assert.ok(problemsOf(() => loadStackConfig({ EXECUTOR_PORTS: '0-100', EXECUTOR_ALLOW_PRIVILEGED_PORTS: '1' }, 8080)).some((p) => /port 0/.test(p)));
  });
  it('needs EXECUTOR_ALLOW_PRIVILEGED_PORTS=1 for ports below 1024', () => {
    assert.ok(problemsOf(() => executorPorts({ EXECUTOR_PORTS: '80' })).some((p) => /EXECUTOR_ALLOW_PRIVILEGED_PORTS=1/.test(p)));
    assert.ok(problemsOf(() => executorPorts({ EXECUTOR_PORTS: '1000-1100' })).some((p) => /below 1024/.test(p)));
    assert.ok(problemsOf(() => loadStackConfig({ EXECUTOR_PORTS: '1000-1100' }, 8080)).some((p) => /EXECUTOR_ALLOW_PRIVILEGED_PORTS=1/.test(p)));
    assert.deepEqual(executorPorts({ EXECUTOR_PORTS: '80,1000-1100', EXECUTOR_ALLOW_PRIVILEGED_PORTS: '1' }), [{ begin: 80, end: 80 }, { begin: 1000, end: 1100 }]);
    assert.deepEqual(executorPorts({ EXECUTOR_PORTS: '1024-1030' }), [{ begin: 1024, end: 1030 }]);
    assert.deepEqual(executorPorts({ EXECUTOR_PORTS: 'none' }), []);
  });
});
