/** REDIS_URL parsing and redaction: pure, no sockets. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EnvReader } from '../common/config.js';
import { parseRedisUrl, redactUrl, RedisUrlError, type RedisTarget } from '../common/redis-url.js';

const parses: [url: string, expected: Partial<RedisTarget>][] = [
  ['redis://127.0.0.1:6379', { topology: 'standalone', tls: false, nodes: [{ host: '127.0.0.1', port: 6379 }] }],
  ['rediss://:pw@cache.example:6380/2', { topology: 'standalone', tls: true, nodes: [{ host: 'cache.example', port: 6380 }], password: 'pw', db: 2 }],
  ['redis://localhost', { topology: 'standalone', nodes: [{ host: 'localhost', port: 6379 }] }],
  [
    'redis+sentinel://app:s%40cret@s1:26379,s2:26380,[::1]:26381/mymaster?db=3&sentinelPassword=sp',
    {
      topology: 'sentinel',
      tls: false,
      nodes: [{ host: 's1', port: 26379 }, { host: 's2', port: 26380 }, { host: '::1', port: 26381 }],
      username: 'app',
      password: 's@cret',
      db: 3,
      masterName: 'mymaster',
      sentinelPassword: 'sp',
    },
  ],
  ['redis+sentinel://s1/m', { topology: 'sentinel', nodes: [{ host: 's1', port: 26379 }], masterName: 'm' }],
  ['rediss+sentinel://s1:26379/m', { topology: 'sentinel', tls: true, masterName: 'm' }],
  ['redis+cluster://:pw@n1:7000,n2:7001', { topology: 'cluster', tls: false, nodes: [{ host: 'n1', port: 7000 }, { host: 'n2', port: 7001 }], password: 'pw' }],
  ['rediss+cluster://n1', { topology: 'cluster', tls: true, nodes: [{ host: 'n1', port: 6379 }] }],
];

for (const [url, expected] of parses) {
  test(`parses ${url}`, () => {
    const target = parseRedisUrl(url);
    for (const [k, v] of Object.entries(expected)) assert.deepEqual(target[k as keyof RedisTarget], v, k);
  });
}

const rejects: [url: string, problem: RegExp][] = [
  ['http://h:6379', /scheme "http:"/],
  ['redis+sentinel://s1:26379', /names no master/],
  ['redis+sentinel://s1:26379/m/0', /path is just the master name/],
  ['redis+sentinel://s1:26379,,s2/m', /empty entry/],
  ['redis+sentinel:///m', /names no host/],
  ['redis+cluster://n1:7000/0', /Cluster URL has none/],
  ['redis+cluster://n1:7000?db=1', /unknown parameter db \(cluster takes none\)/],
  ['redis+sentinel://s1/m?sentinelPasword=x', /unknown parameter sentinelPasword/],
  ['redis://h1:6379,h2:6379', /several hosts/],
  ['redis+cluster://n1:70000', /port "70000"/],
  ['redis+cluster://n1:abc', /port "abc"/],
  ['redis://h/x', /database "x"/],
  ['redis+sentinel://s1/m?db=-1', /database "-1"/],
  ['not a url', /is not a URL/],
  ['redis://h#frag', /fragment/],
];

for (const [url, problem] of rejects) {
  test(`rejects ${url}`, () => {
    assert.throws(() => parseRedisUrl(url), (err: unknown) => err instanceof RedisUrlError && err.code === 'REDIS_URL_INVALID' && problem.test(err.message));
  });
}

const redactions: [url: string, redacted: string][] = [
  ['redis://:hunter2@h:6379', 'redis://:***@h:6379'],
  ['redis://user:hunter2@h:6379/1', 'redis://user:***@h:6379/1'],
  ['redis://user@h:6379', 'redis://user@h:6379'],
  ['redis://h:6379', 'redis://h:6379'],
  ['redis+sentinel://app:hunter2@s1:26379,s2:26379/m?db=1&sentinelPassword=hunter3', 'redis+sentinel://app:***@s1:26379,s2:26379/m?db=1&sentinelPassword=***'],
  ['rediss+cluster://:hunter2@n1:7000,n2:7001', 'rediss+cluster://:***@n1:7000,n2:7001'],
  ['redis+cluster://:hunter2@n1:7000,n2:7001/bad', 'redis+cluster://:***@n1:7000,n2:7001/bad'],
  ['redis+sentinel://s1/m?sentinelPassword=hunter3&db=1', 'redis+sentinel://s1/m?sentinelPassword=***&db=1'],
];

for (const [url, redacted] of redactions) {
  test(`redacts ${url}`, () => assert.equal(redactUrl(url), redacted));
}

test('a bad REDIS_URL is a configuration problem that names what is wrong and hides the password', () => {
  const r = new EnvReader({ REDIS_URL: 'redis+sentinel://:hunter2@s1:26379?sentinelPassword=hunter3' });
  r.redisUrl('REDIS_URL', 'redis://127.0.0.1:6379');
  assert.throws(() => r.done({}), (err: Error) => /REDIS_URL=.*names no master/.test(err.message) && !/hunter/.test(err.message));
});

test('every form is accepted as REDIS_URL', () => {
  for (const [url] of parses) {
    const r = new EnvReader({ REDIS_URL: url });
    assert.equal(r.redisUrl('REDIS_URL', 'redis://x'), url);
    r.done({});
  }
});
