import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PipelineError, type ErrorCode } from '../common/errors.js';
import { checkSourceUrl, isAllowedHost, isBlockedAddress, needsAddressCheck, type UrlPolicy } from '../executor/url-policy.js';

const STRICT: UrlPolicy = { allowPrivateNetworks: false, allowedHosts: ['fileserver:8080', '127.0.0.1:8080', '[::1]:9000'] };
const OPEN: UrlPolicy = { allowPrivateNetworks: true, allowedHosts: [] };

test('isBlockedAddress', async (t) => {
  const cases: [string, boolean][] = [
    ['127.0.0.1', true],
    ['127.255.255.254', true],
    ['10.0.0.1', true],
    ['10.255.255.255', true],
    ['172.16.0.1', true],
    ['172.31.255.255', true],
    ['172.15.255.255', false],
    ['172.32.0.0', false],
    ['192.168.1.1', true],
    ['192.169.0.1', false],
    ['169.254.169.254', true], // cloud metadata
    ['100.64.0.1', true],
    ['100.127.255.255', true],
    ['100.128.0.0', false],
    ['0.0.0.0', true],
    ['0.1.2.3', true],
    ['224.0.0.1', true],
    ['239.255.255.250', true],
    ['255.255.255.255', true],
    ['8.8.8.8', false],
    ['93.184.216.34', false],
    ['::1', true],
    ['::', true],
    ['0:0:0:0:0:0:0:1', true],
    ['fc00::1', true],
    ['fdff:ffff::1', true],
    ['fe80::1', true],
    ['fe80::1%eth0', true],
    ['febf::1', true],
    ['fec0::1', false],
    ['ff02::1', true],
    ['2001:4860:4860::8888', false],
    ['::ffff:127.0.0.1', true],
    ['::ffff:7f00:1', true],
    ['::ffff:169.254.169.254', true],
    ['::ffff:10.1.2.3', true],
    ['::ffff:8.8.8.8', false],
    ['[::1]', true],
    ['not-an-ip', true], // fail closed
    ['', true],
  ];
  for (const [ip, blocked] of cases) {
    await t.test(`${ip || '(empty)'} -> ${blocked ? 'blocked' : 'public'}`, () => assert.equal(isBlockedAddress(ip), blocked));
  }
});

test('checkSourceUrl', async (t) => {
  const cases: { url: string; policy?: UrlPolicy; want: ErrorCode | 'ok'; href?: string }[] = [
    { url: 'https://example.com/cat.png', want: 'ok' },
    { url: 'http://example.com:8080/a/b.jpg?x=1', want: 'ok' },
    { url: 'HTTP://EXAMPLE.com/x.png', want: 'ok', href: 'http://example.com/x.png' },
    { url: 'http://8.8.8.8/x.png', want: 'ok' },
    { url: 'http://localhost/x.png', want: 'ok' }, // a name: refused later by the DNS check
    { url: 'not a url', want: 'URL_INVALID' },
    { url: '', want: 'URL_INVALID' },
    { url: '/images/cat.png', want: 'URL_INVALID' },
    { url: 'ftp://example.com/x.png', want: 'URL_INVALID' },
    { url: 'file:///etc/passwd', want: 'URL_INVALID' },
    { url: 'data:image/png;base64,AAAA', want: 'URL_INVALID' },
    { url: 'javascript:alert(1)', want: 'URL_INVALID' },
    { url: 'http://user:secret@example.com/x.png', want: 'URL_INVALID' },
    { url: 'http://user@example.com/x.png', want: 'URL_INVALID' },
    { url: 'http://127.0.0.1/x.png', want: 'URL_FORBIDDEN' },
    { url: 'http://169.254.169.254/latest/meta-data/', want: 'URL_FORBIDDEN' },
    { url: 'http://10.0.0.5:6379/', want: 'URL_FORBIDDEN' },
    { url: 'http://[::1]/x.png', want: 'URL_FORBIDDEN' },
    { url: 'http://[::ffff:127.0.0.1]/x.png', want: 'URL_FORBIDDEN' },
    { url: 'http://[fd12::1]/x.png', want: 'URL_FORBIDDEN' },
    { url: 'http://2130706433/x.png', want: 'URL_FORBIDDEN' }, // 127.0.0.1 as one number
    { url: 'http://0x7f.1/x.png', want: 'URL_FORBIDDEN' },
    { url: 'http://0/x.png', want: 'URL_FORBIDDEN' },
    { url: 'http://127.0.0.1:8080/images/cat.png', want: 'ok' }, // allowed host
    { url: 'http://127.0.0.1:8081/images/cat.png', want: 'URL_FORBIDDEN' }, // same host, other port
    { url: 'http://[::1]:9000/x.png', want: 'ok' },
    { url: 'http://127.0.0.1/x.png', policy: OPEN, want: 'ok' },
    { url: 'http://169.254.169.254/', policy: OPEN, want: 'ok' },
    { url: 'ftp://127.0.0.1/x.png', policy: OPEN, want: 'URL_INVALID' },
  ];
  for (const c of cases) {
    await t.test(`${c.url || '(empty)'}${c.policy === OPEN ? ' (private allowed)' : ''} -> ${c.want}`, () => {
      const policy = c.policy ?? STRICT;
      if (c.want === 'ok') {
        const url = checkSourceUrl(c.url, policy);
        if (c.href !== undefined) assert.equal(url.href, c.href);
        return;
      }
      assert.throws(
        () => checkSourceUrl(c.url, policy),
        (err: unknown) => err instanceof PipelineError && err.code === c.want && err.retryable === false,
      );
    });
  }
});

test('credentials never appear in the URL_INVALID message', () => {
  assert.throws(
    () => checkSourceUrl('http://user:hunter2@example.com/x.png', STRICT),
    (err: unknown) => err instanceof PipelineError && !err.message.includes('hunter2'),
  );
});

test('isAllowedHost matches host and port, with default ports and normalised names', async (t) => {
  const policy: UrlPolicy = {
    allowPrivateNetworks: false,
    allowedHosts: ['FileServer:8080', 'images.local', 'secure.local:443', ' [::1]:9000 ', 'plain.local:80', 'not a host:1'],
  };
  const cases: [string, boolean][] = [
    ['http://fileserver:8080/x', true],
    ['http://FILESERVER:8080/x', true],
    ['https://fileserver:8080/x', true],
    ['http://fileserver/x', false],
    ['http://fileserver:8081/x', false],
    ['http://images.local/x', true], // an entry without port means the scheme's default port
    ['http://images.local:80/x', true],
    ['https://images.local/x', true],
    ['http://images.local:8080/x', false],
    ['https://secure.local/x', true],
    ['http://secure.local/x', false],
    ['https://secure.local:443/x', true],
    ['http://[::1]:9000/x', true],
    ['http://[0:0::1]:9000/x', true],
    ['http://evil.fileserver:8080/x', false],
    ['http://plain.local/x', true], // explicit :80 entry
    ['https://plain.local/x', false],
  ];
  for (const [url, allowed] of cases) {
    await t.test(`${url} -> ${allowed}`, () => assert.equal(isAllowedHost(new URL(url), policy), allowed));
  }
});

test('needsAddressCheck: off for allowed hosts and when private networks are allowed', () => {
  assert.equal(needsAddressCheck(new URL('http://example.com/'), STRICT), true);
  assert.equal(needsAddressCheck(new URL('http://fileserver:8080/'), STRICT), false);
  assert.equal(needsAddressCheck(new URL('http://example.com/'), OPEN), false);
});
