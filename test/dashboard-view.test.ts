/** The dashboard's pure parts: settings and the token rule, who gets in, the page as HTML. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ClusterSnapshot } from '../client/cluster-snapshot.js';
import { ConfigError } from '../common/config.js';
import { clusterScript, renderPage } from '../dashboard/cluster-page.js';
import { renderCluster } from '../dashboard/cluster-view.js';
import { isLoopbackHost, loadDashboardConfig, parseDashboardPort } from '../dashboard/dashboard-config.js';
import { isOutputName } from '../dashboard/thumbnails.js';
import { cookieValue, decideAuth, TOKEN_COOKIE, type AuthRequest } from '../dashboard/token-auth.js';

const TOKEN = 'abcdefghijklmnop-0123';

describe('dashboard settings', () => {
  it('defaults: 127.0.0.1:8081, no token', () => {
    const c = loadDashboardConfig({});
    assert.deepEqual([c.host, c.port, c.token, c.uploadDir, c.fileserverUrl], ['127.0.0.1', 8081, undefined, undefined, 'http://127.0.0.1:8080']);
  });
  it('a non-loopback host without DASHBOARD_TOKEN is a config error naming both', () => {
    assert.throws(() => loadDashboardConfig({ DASHBOARD_HOST: '0.0.0.0' }), (err: Error) => err instanceof ConfigError && /DASHBOARD_HOST=0\.0\.0\.0 .*set DASHBOARD_TOKEN/.test(err.message));
  });
  it('a non-loopback host with a token is fine; a short token is not', () => {
    assert.equal(loadDashboardConfig({ DASHBOARD_HOST: '0.0.0.0', DASHBOARD_TOKEN: TOKEN }).token, TOKEN);
    assert.throws(() => loadDashboardConfig({ DASHBOARD_TOKEN: 'short' }), /DASHBOARD_TOKEN must be at least 16 characters/);
  });
  it('every problem at once', () => {
    assert.throws(
      () => loadDashboardConfig({ DASHBOARD_PORT: '70000', DASHBOARD_HOST: '10.0.0.5', QUEUE_NAME: 'a:b' }),
      (err: Error) => err instanceof ConfigError && err.problems.length === 3,
    );
  });
  const ports: [string | undefined, number | 'off' | RegExp][] = [
    [undefined, 8081], ['', 8081], ['9000', 9000], ['off', 'off'], ['OFF', 'off'], ['none', 'off'], ['0', /from 1 to 65535/], ['80x', /from 1 to 65535/],
  ];
  for (const [text, want] of ports) {
    it(`DASHBOARD_PORT=${JSON.stringify(text)}`, () => {
      const got = parseDashboardPort(text);
      if (want instanceof RegExp) assert.match(String(got), want);
      else assert.equal(got, want);
    });
  }
  const hosts: [string, boolean][] = [
    ['127.0.0.1', true], ['127.1.2.3', true], ['localhost', true], ['::1', true], ['[::1]', true],
    ['0.0.0.0', false], ['::', false], ['192.168.1.2', false], ['example.com', false], ['localhost.evil.com', false],
  ];
  for (const [host, want] of hosts) it(`loopback(${host}) = ${want}`, () => assert.equal(isLoopbackHost(host), want));
});

describe('decideAuth', () => {
  const req = (over: Partial<AuthRequest>): AuthRequest => ({ method: 'GET', origin: undefined, path: '/', url: '/', host: '127.0.0.1:8081', authorization: undefined, cookie: undefined, ...over });
  const cases: [string, AuthRequest, string | undefined, string][] = [
    ['no token, loopback Host', req({}), undefined, 'allow'],
    ['no token, localhost Host', req({ host: 'localhost:8081' }), undefined, 'allow'],
    ['no token, foreign Host (DNS rebinding)', req({ host: 'evil.example:8081' }), undefined, 'deny 403'],
    ['token, nothing sent', req({}), TOKEN, 'deny 401'],
    ['token, healthz needs none', req({ path: '/healthz', url: '/healthz' }), TOKEN, 'allow'],
    ['token, right bearer', req({ authorization: `Bearer ${TOKEN}` }), TOKEN, 'allow'],
    ['token, wrong bearer', req({ authorization: 'Bearer nope' }), TOKEN, 'deny 401'],
    ['token, right cookie', req({ cookie: `a=b; ${TOKEN_COOKIE}=${TOKEN}` }), TOKEN, 'allow'],
    ['token, wrong cookie', req({ cookie: `${TOKEN_COOKIE}=x` }), TOKEN, 'deny 401'],
    ['token in the query: cookie, then back without it', req({ url: `/queues?x=1&token=${TOKEN}` }), TOKEN, 'set-cookie /queues?x=1'],
    ['wrong token in the query', req({ url: '/?token=nope' }), TOKEN, 'deny 401'],
    ['token, any Host is fine', req({ host: 'dash.example.com', authorization: `Bearer ${TOKEN}` }), TOKEN, 'allow'],
    ['a change from its own page', req({ method: 'PUT', origin: 'http://127.0.0.1:8081' }), undefined, 'allow'],
    ['a change from another origin, no token', req({ method: 'PUT', origin: 'http://evil.example' }), undefined, 'deny 403'],
    ['a change from another origin, even with the cookie', req({ method: 'POST', origin: 'http://evil.example', cookie: `${TOKEN_COOKIE}=${TOKEN}` }), TOKEN, 'deny 403'],
    ['a read from another origin is left to the browser (no CORS headers)', req({ origin: 'http://evil.example' }), undefined, 'allow'],
  ];
  for (const [name, r, token, want] of cases) {
    it(name, () => {
      const d = decideAuth(r, token);
      assert.equal(d.kind === 'deny' ? `deny ${d.status}` : d.kind === 'set-cookie' ? `set-cookie ${d.location}` : d.kind, want);
    });
  }
  it('cookieValue', () => {
    assert.equal(cookieValue('a=1; b=%20x', 'b'), ' x');
    assert.equal(cookieValue('a=1', 'b'), undefined);
    assert.equal(cookieValue('b=%E0%A4%A', 'b'), undefined);
  });
});

describe('output names for thumbnails', () => {
  const names: [string, boolean][] = [['cat-3f9a1c0b2d4e.png', true], ['../etc/passwd', false], ['.hidden', false], ['a/b.png', false], ['', false], ['x%2f.png', false]];
  for (const [name, ok] of names) it(JSON.stringify(name), () => assert.equal(isOutputName(name), ok));
});

const HOSTILE = '"><script>alert(1)</script><img src=x onerror=alert(2)>';
function snapshot(): ClusterSnapshot {
  const now = 1_700_000_000_000;
  return {
    queueName: 'images', atMs: now,
    queue: { paused: false, counts: { waiting: 1, prioritized: 0, active: 1, delayed: 0, paused: 0, waitingChildren: 0, completed: 7, failed: 2 } },
    leader: { schedulerId: 'sched-1', epoch: 3, sinceMs: now - 61_000 },
    schedulers: [{ schedulerId: 'sched-1', role: 'leader' }, { schedulerId: `standby${HOSTILE}`, role: 'standby' }],
    state: {
      version: 1, publishedAtMs: now, leader: { schedulerId: 'sched-1', epoch: 3, sinceMs: now - 61_000 }, taskDemand: { cpus: 0.5, memMb: 256, ports: 0 },
      executors: [{
        id: 'executor-1', hostname: 'h', advertiseHost: '127.0.0.1', total: { cpus: 2, memMb: 1000, ports: [] }, used: { cpus: 0.5, memMb: 250, ports: [] },
        running: 1, declined: false, draining: true, inboxHealthy: true, lost: false, lastHeartbeatMs: now - 1000,
        tasks: [{ taskId: 't', kind: 'images', state: 'TASK_RUNNING', stage: 'invert', startedAtMs: now - 4000, adopted: false, runs: [{ jobId: '9', url: `http://x/${HOSTILE}`, state: 'TASK_RUNNING', stage: 'invert' }] }],
      }],
      offers: { received: 5, accepted: 3, declined: 2, parkedJobs: 0 }, circuits: [],
      recent: [
        { jobId: '8', url: 'http://x/a.png', outcome: 'complete', output: 'a-0123456789ab.png', attempt: '1/8', atMs: now - 2000 },
        { jobId: '7', url: `http://x/${HOSTILE}`, outcome: 'fail', reason: 'DOWNLOAD_NOT_FOUND', attempt: '1/8', atMs: now - 3000 },
      ],
    },
    stateTtlSeconds: 10,
    services: [],
  };
}

describe('cluster page', () => {
  it('escapes every string from Redis', () => {
    const html = renderPage(snapshot(), snapshot().atMs);
    assert.ok(!html.includes('<script>alert'), 'no injected script');
    assert.ok(!html.includes('<img src=x'), 'no injected element');
    assert.ok(html.includes('&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;'));
  });
  it('shows counts, leader, executor resources, running stage and age, outcomes and thumbnails', () => {
    const html = renderCluster(snapshot(), snapshot().atMs);
    assert.match(html, /<b id="count-completed">7<\/b>/);
    assert.match(html, /<b id="count-failed">2<\/b>/);
    assert.match(html, /<b id="leader-id">sched-1<\/b> epoch 3, leading for 1m01s/);
    assert.match(html, /<span class="executor-id">executor-1<\/span>.*style="width:25%".*0\.5 \/ 2<\/small>.*style="width:25%".*250 \/ 1000 MB.*<span class="flag">draining<\/span>/);
    assert.match(html, /<span class="job-id">9<\/span><\/td><td>executor-1<\/td><td>invert<\/td><td>4s<\/td>/);
    assert.match(html, /DOWNLOAD_NOT_FOUND<\/td><td>1\/8<\/td>/);
    assert.match(html, /<img class="thumb" loading="lazy" alt="a-0123456789ab\.png" src="thumbs\/a-0123456789ab\.png">/);
  });
  it('no published state: the clear line, and an empty executor list', () => {
    const html = renderCluster({ ...snapshot(), state: null, leader: undefined }, 0);
    assert.match(html, /id="no-leader">no leading scheduler has published state in the last 10 s/);
    assert.match(html, /no executor registered/);
  });
  it('the script carries a self-contained copy of the renderer: same HTML in a scope without the module', () => {
    const script = clusterScript();
    const source = script.slice(script.indexOf('const renderCluster = ') + 'const renderCluster = '.length, script.indexOf(';\nasync function refresh'));
    const copy = new Function(`"use strict"; return (${source});`)() as typeof renderCluster;
    const s = snapshot();
    assert.equal(copy(s, s.atMs), renderCluster(s, s.atMs));
    assert.equal(copy({ ...s, state: null }, 5), renderCluster({ ...s, state: null }, 5));
  });
});
