import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PipelineError, type ErrorCode } from '../common/errors.js';
import { checkSourceUrl, isAllowedHost, isBlockedAddress, needsAddressCheck, type UrlPolicy } from '../executor/url-policy.js';

const STRICT: UrlPolicy = { allowPrivateNetworks: false, allowedHosts: ['fileserver:8080', '127.0.0.1:8080', '[::1]:9000'] };
const OPEN: UrlPolicy = { allowPrivateNetworks: true, allowedHosts: [] };

const PUBLIC = false;
const BLOCKED = true;

/** [address, blocked, what it is]: one address inside each range, and its neighbours where the edge matters. */
type Case = readonly [address: string, blocked: boolean, note: string];

const IPV4_CASES: Case[] = [
  ['0.0.0.0', BLOCKED, '0.0.0.0/32 this host'],
  ['0.1.2.3', BLOCKED, '0.0.0.0/8 this network'],
  ['0.255.255.255', BLOCKED, '0.0.0.0/8 last'],
  ['1.0.0.0', PUBLIC, 'just above 0.0.0.0/8'],
  ['10.0.0.1', BLOCKED, '10.0.0.0/8 private'],
  ['10.255.255.255', BLOCKED, '10.0.0.0/8 last'],
  ['9.255.255.255', PUBLIC, 'just below 10.0.0.0/8'],
  ['11.0.0.0', PUBLIC, 'just above 10.0.0.0/8'],
  ['100.64.0.1', BLOCKED, '100.64.0.0/10 shared (CGNAT)'],
  ['100.127.255.255', BLOCKED, '100.64.0.0/10 last'],
  ['100.63.255.255', PUBLIC, 'just below 100.64.0.0/10'],
  ['100.128.0.0', PUBLIC, 'just above 100.64.0.0/10'],
  ['127.0.0.1', BLOCKED, '127.0.0.0/8 loopback'],
  ['127.255.255.254', BLOCKED, '127.0.0.0/8'],
  ['169.254.0.1', BLOCKED, '169.254.0.0/16 link-local'],
  ['169.254.169.254', BLOCKED, 'cloud metadata'],
  ['169.253.255.255', PUBLIC, 'just below 169.254.0.0/16'],
  ['169.255.0.0', PUBLIC, 'just above 169.254.0.0/16'],
  ['172.16.0.1', BLOCKED, '172.16.0.0/12 private'],
  ['172.31.255.255', BLOCKED, '172.16.0.0/12 last'],
  ['172.15.255.255', PUBLIC, 'just below 172.16.0.0/12'],
  ['172.32.0.0', PUBLIC, 'just above 172.16.0.0/12'],
  ['192.0.0.1', BLOCKED, '192.0.0.0/29 IPv4 service continuity (DS-Lite)'],
  ['192.0.0.8', BLOCKED, '192.0.0.8/32 IPv4 dummy address'],
  ['192.0.0.9', BLOCKED, '192.0.0.9/32 PCP anycast (globally reachable)'],
  ['192.0.0.10', BLOCKED, '192.0.0.10/32 TURN anycast (globally reachable)'],
  ['192.0.0.170', BLOCKED, '192.0.0.170/32 NAT64/DNS64 discovery'],
  ['192.0.0.171', BLOCKED, '192.0.0.171/32 NAT64/DNS64 discovery'],
  ['192.0.0.255', BLOCKED, '192.0.0.0/24 IETF protocol assignments, last'],
  ['191.255.255.255', PUBLIC, 'just below 192.0.0.0/24'],
  ['192.0.1.0', PUBLIC, 'just above 192.0.0.0/24'],
  ['192.0.2.1', BLOCKED, '192.0.2.0/24 TEST-NET-1'],
  ['192.0.2.255', BLOCKED, '192.0.2.0/24 last'],
  ['192.0.3.0', PUBLIC, 'just above 192.0.2.0/24'],
  ['192.31.196.1', BLOCKED, '192.31.196.0/24 AS112-v4 (globally reachable)'],
  ['192.31.197.0', PUBLIC, 'just above 192.31.196.0/24'],
  ['192.52.193.1', BLOCKED, '192.52.193.0/24 AMT (globally reachable)'],
  ['192.52.192.255', PUBLIC, 'just below 192.52.193.0/24'],
  ['192.88.99.1', BLOCKED, '192.88.99.0/24 deprecated 6to4 relay anycast'],
  ['192.88.100.0', PUBLIC, 'just above 192.88.99.0/24'],
  ['192.168.1.1', BLOCKED, '192.168.0.0/16 private'],
  ['192.169.0.1', PUBLIC, 'just above 192.168.0.0/16'],
  ['192.175.48.1', BLOCKED, '192.175.48.0/24 AS112 direct delegation (globally reachable)'],
  ['192.175.49.0', PUBLIC, 'just above 192.175.48.0/24'],
  ['198.18.0.0', BLOCKED, '198.18.0.0/15 benchmarking, first'],
  ['198.19.255.255', BLOCKED, '198.18.0.0/15 last'],
  ['198.17.255.255', PUBLIC, 'just below 198.18.0.0/15'],
  ['198.20.0.0', PUBLIC, 'just above 198.18.0.0/15'],
  ['198.51.100.7', BLOCKED, '198.51.100.0/24 TEST-NET-2'],
  ['198.51.99.255', PUBLIC, 'just below 198.51.100.0/24'],
  ['198.51.101.0', PUBLIC, 'just above 198.51.100.0/24'],
  ['203.0.113.1', BLOCKED, '203.0.113.0/24 TEST-NET-3'],
  ['203.0.112.255', PUBLIC, 'just below 203.0.113.0/24'],
  ['203.0.114.0', PUBLIC, 'just above 203.0.113.0/24'],
  ['224.0.0.1', BLOCKED, '224.0.0.0/4 multicast'],
  ['239.255.255.250', BLOCKED, '224.0.0.0/4 multicast (SSDP)'],
  ['223.255.255.255', PUBLIC, 'just below 224.0.0.0/4'],
  ['240.0.0.1', BLOCKED, '240.0.0.0/4 reserved'],
  ['255.255.255.254', BLOCKED, '240.0.0.0/4 last before broadcast'],
  ['255.255.255.255', BLOCKED, '255.255.255.255/32 limited broadcast'],
  ['100.100.100.200', BLOCKED, 'Alibaba Cloud metadata (inside 100.64.0.0/10)'],
  ['168.63.129.16', BLOCKED, 'Azure WireServer / platform endpoint'],
  ['168.63.129.15', PUBLIC, 'next to the Azure WireServer'],
  ['8.8.8.8', PUBLIC, 'Google DNS'],
  ['1.1.1.1', PUBLIC, 'Cloudflare DNS'],
  ['93.184.216.34', PUBLIC, 'example.com'],
];

const IPV6_CASES: Case[] = [
  ['::', BLOCKED, '::/128 unspecified'],
  ['::1', BLOCKED, '::1/128 loopback'],
  ['0:0:0:0:0:0:0:1', BLOCKED, 'loopback, uncompressed'],
  ['64:ff9b:1::808:808', BLOCKED, '64:ff9b:1::/48 local-use NAT64: blocked whatever it embeds'],
  ['64:ff9b:1:ffff:ffff:ffff:ffff:ffff', BLOCKED, '64:ff9b:1::/48 last'],
  ['100::1', BLOCKED, '100::/64 discard-only'],
  ['100::ffff:ffff:ffff:ffff', BLOCKED, '100::/64 last'],
  ['100:0:0:1::1', BLOCKED, '100:0:0:1::/64 dummy prefix'],
  ['2001::1', BLOCKED, '2001::/32 Teredo'],
  ['2001:0:4136:e378:8000:63bf:3fff:fdd2', BLOCKED, 'Teredo, even with a public server and client'],
  ['2001:1::1', BLOCKED, '2001:1::1/128 PCP anycast (globally reachable)'],
  ['2001:1::2', BLOCKED, '2001:1::2/128 TURN anycast (globally reachable)'],
  ['2001:1::3', BLOCKED, '2001:1::3/128 DNS-SD SRP anycast (globally reachable)'],
  ['2001:2::1', BLOCKED, '2001:2::/48 benchmarking'],
  ['2001:3::1', BLOCKED, '2001:3::/32 AMT (globally reachable)'],
  ['2001:4:112::1', BLOCKED, '2001:4:112::/48 AS112-v6 (globally reachable)'],
  ['2001:10::1', BLOCKED, '2001:10::/28 deprecated ORCHID'],
  ['2001:20::1', BLOCKED, '2001:20::/28 ORCHIDv2 (globally reachable)'],
  ['2001:30::1', BLOCKED, '2001:30::/28 DRIP entity tags (globally reachable)'],
  ['2001:1ff:ffff:ffff:ffff:ffff:ffff:ffff', BLOCKED, '2001::/23 IETF protocol assignments, last'],
  ['2001:200::1', PUBLIC, 'just above 2001::/23'],
  ['2001:db8::1', BLOCKED, '2001:db8::/32 documentation'],
  ['2001:db8:ffff:ffff::1', BLOCKED, '2001:db8::/32'],
  ['2001:db9::1', PUBLIC, 'just above 2001:db8::/32'],
  ['2620:4f:8000::1', BLOCKED, '2620:4f:8000::/48 AS112 direct delegation (globally reachable)'],
  ['2620:4f:8001::1', PUBLIC, 'just above 2620:4f:8000::/48'],
  ['3fff::1', BLOCKED, '3fff::/20 documentation'],
  ['3fff:fff:ffff::1', BLOCKED, '3fff::/20 last /48'],
  ['3fff:1000::1', PUBLIC, 'just above 3fff::/20'],
  ['5f00::1', BLOCKED, '5f00::/16 SRv6 SIDs'],
  ['fc00::1', BLOCKED, 'fc00::/7 unique local'],
  ['fdff:ffff::1', BLOCKED, 'fc00::/7'],
  ['fd00:ec2::254', BLOCKED, 'AWS metadata over IPv6'],
  ['fe80::1', BLOCKED, 'fe80::/10 link-local'],
  ['febf::1', BLOCKED, 'fe80::/10 last /16'],
  ['fec0::1', BLOCKED, 'fec0::/10 deprecated site-local'],
  ['feff::1', BLOCKED, 'fec0::/10 last /16'],
  ['ff02::1', BLOCKED, 'ff00::/8 multicast'],
  ['ff0e::1', BLOCKED, 'ff00::/8 global-scope multicast'],
  ['1fff:ffff::1', BLOCKED, 'below 2000::/3, not global unicast'],
  ['4000::1', BLOCKED, 'above 2000::/3, not global unicast'],
  ['2000::1', PUBLIC, '2000::/3 first /16'],
  ['2001:4860:4860::8888', PUBLIC, 'Google DNS'],
  ['2606:4700:4700::1111', PUBLIC, 'Cloudflare DNS'],
  ['2a00:1450:4001:81c::200e', PUBLIC, 'a Google web server'],
];

const EMBEDDED_CASES: Case[] = [
  ['::ffff:127.0.0.1', BLOCKED, 'IPv4-mapped loopback'],
  ['::ffff:7f00:1', BLOCKED, 'IPv4-mapped loopback, hex'],
  ['::FFFF:7F00:1', BLOCKED, 'IPv4-mapped loopback, uppercase'],
  ['0:0:0:0:0:ffff:7f00:1', BLOCKED, 'IPv4-mapped loopback, uncompressed'],
  ['::ffff:169.254.169.254', BLOCKED, 'IPv4-mapped metadata'],
  ['::ffff:10.1.2.3', BLOCKED, 'IPv4-mapped private'],
  ['::ffff:198.51.100.1', BLOCKED, 'IPv4-mapped TEST-NET-2'],
  ['::ffff:8.8.8.8', PUBLIC, 'IPv4-mapped public'],
  ['::ffff:808:808', PUBLIC, 'IPv4-mapped public, hex'],
  ['::127.0.0.1', BLOCKED, 'IPv4-compatible loopback'],
  ['::7f00:1', BLOCKED, 'IPv4-compatible loopback, hex (as URL parsing writes it)'],
  ['::a9fe:a9fe', BLOCKED, 'IPv4-compatible metadata'],
  ['::10.0.0.1', BLOCKED, 'IPv4-compatible private'],
  ['::8.8.8.8', PUBLIC, 'IPv4-compatible public'],
  ['::ffff:0:127.0.0.1', BLOCKED, 'IPv4-translated loopback'],
  ['::ffff:0:7f00:1', BLOCKED, 'IPv4-translated loopback, hex'],
  ['::ffff:0:c0a8:101', BLOCKED, 'IPv4-translated 192.168.1.1'],
  ['::ffff:0:8.8.8.8', PUBLIC, 'IPv4-translated public'],
  ['64:ff9b::127.0.0.1', BLOCKED, 'NAT64 loopback'],
  ['64:ff9b::7f00:1', BLOCKED, 'NAT64 loopback, hex'],
  ['64:ff9b::a9fe:a9fe', BLOCKED, 'NAT64 metadata'],
  ['64:ff9b::c0a8:101', BLOCKED, 'NAT64 192.168.1.1'],
  ['64:ff9b::c612:1', BLOCKED, 'NAT64 198.18.0.1 benchmarking'],
  ['64:ff9b::808:808', PUBLIC, 'NAT64 public'],
  ['64:FF9B::8.8.8.8', PUBLIC, 'NAT64 public, dotted, uppercase'],
  ['64:ff9b::1:808:808', BLOCKED, 'not in 64:ff9b::/96 (bits 80-95 set), so not NAT64 and not global unicast'],
  ['2002:7f00:1::1', BLOCKED, '6to4 of loopback'],
  ['2002:a9fe:a9fe::1', BLOCKED, '6to4 of metadata'],
  ['2002:c0a8:101:1::1', BLOCKED, '6to4 of 192.168.1.1'],
  ['2002:a00:1::', BLOCKED, '6to4 of 10.0.0.1'],
  ['2002:c000:201::1', BLOCKED, '6to4 of 192.0.2.1 TEST-NET-1'],
  ['2002:0808:0808::1', PUBLIC, '6to4 of 8.8.8.8'],
  ['2002:808:808:1:2:3:4:5', PUBLIC, '6to4 of 8.8.8.8, full interface id'],
];

const FORM_CASES: Case[] = [
  ['[::1]', BLOCKED, 'brackets'],
  ['[::ffff:127.0.0.1]', BLOCKED, 'brackets around a mapped address'],
  ['[64:ff9b::7f00:1]', BLOCKED, 'brackets around NAT64'],
  ['[2606:4700:4700::1111]', PUBLIC, 'brackets around a public address'],
  ['fe80::1%eth0', BLOCKED, 'zone id'],
  ['::ffff:127.0.0.1%1', BLOCKED, 'zone id after a dotted tail'],
  ['2606:4700:4700::1111%eth0', PUBLIC, 'zone id on a public address'],
  ['not-an-ip', BLOCKED, 'fail closed'],
  ['', BLOCKED, 'fail closed'],
  [' 8.8.8.8', BLOCKED, 'whitespace: not an IP'],
  ['08.8.8.8', BLOCKED, 'leading zero: not an IP'],
  ['1.2.3', BLOCKED, 'short IPv4: not an IP'],
  ['[8.8.8.8]', BLOCKED, 'brackets around IPv4: not an IP'],
  ['8.8.8.8%eth0', BLOCKED, 'zone id on IPv4: not an IP'],
  ['::ffff:127.000.0.1', BLOCKED, 'leading zeros in a dotted tail: not an IP'],
  ['1:2:3:4:5:6:7:8:9', BLOCKED, 'nine groups: not an IP'],
];

for (const [name, cases] of [
  ['IPv4 special-purpose ranges', IPV4_CASES],
  ['IPv6 special-purpose ranges', IPV6_CASES],
  ['IPv4 embedded in IPv6 is judged by the IPv4', EMBEDDED_CASES],
  ['written forms, and non-IP strings fail closed', FORM_CASES],
] as const) {
  test(`isBlockedAddress: ${name}`, async (t) => {
    for (const [ip, blocked, note] of cases) {
      await t.test(`${ip || '(empty)'} -> ${blocked ? 'blocked' : 'public'} (${note})`, () => assert.equal(isBlockedAddress(ip), blocked));
    }
  });
}

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
    { url: 'http://198.51.100.7/x.png', want: 'URL_FORBIDDEN' }, // documentation range
    { url: 'http://[fec0::1]/x.png', want: 'URL_FORBIDDEN' },
    { url: 'http://[::127.0.0.1]/x.png', want: 'URL_FORBIDDEN' }, // the URL parser rewrites it to [::7f00:1]
    { url: 'http://[::ffff:0:127.0.0.1]/x.png', want: 'URL_FORBIDDEN' },
    { url: 'http://[64:ff9b::127.0.0.1]/x.png', want: 'URL_FORBIDDEN' },
    { url: 'http://[2002:7f00:1::1]/x.png', want: 'URL_FORBIDDEN' },
    { url: 'http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/x.png', want: 'URL_FORBIDDEN' }, // Teredo
    { url: 'http://1.1.1.1/x.png', want: 'ok' },
    { url: 'http://[2606:4700:4700::1111]/x.png', want: 'ok' },
    { url: 'http://[::ffff:8.8.8.8]/x.png', want: 'ok' },
    { url: 'http://[64:ff9b::8.8.8.8]/x.png', want: 'ok' },
    { url: 'http://[2002:808:808::1]/x.png', want: 'ok' },
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

test('URL_FORBIDDEN for an ordinary private address names the range and suggests allow-listing (other kinds: forbidden-hint.test.ts)', async (t) => {
  const cases: [url: string, host: string, range: RegExp][] = [
    ['http://192.168.1.20/cat.png', '192.168.1.20', /private/i],
    ['http://10.0.0.5:8080/cat.png', '10.0.0.5:8080', /private/i],
    ['http://[fd12::1]/cat.png', '[fd12::1]', /unique local/i],
    ['http://[::ffff:10.1.2.3]/cat.png', '[::ffff:a01:203]', /IPv4-mapped.*10\.1\.2\.3.*private/i],
  ];
  for (const [url, host, range] of cases) {
    await t.test(url, () => {
      assert.throws(
        () => checkSourceUrl(url, STRICT),
        (err: unknown) => {
          assert.ok(err instanceof PipelineError && err.code === 'URL_FORBIDDEN');
          assert.match(err.message, range);
          assert.ok(err.message.includes(`add "${host}" to ALLOWED_SOURCE_HOSTS`), err.message);
          return true;
        },
      );
    });
  }
});

const METADATA_URLS = [
  'http://169.254.169.254/latest/meta-data/iam/security-credentials/',
  'http://169.254.170.2/v2/credentials/abc', // ECS task credentials
  'http://169.254.170.23/v1/credentials', // EKS Pod Identity
  'http://[fd00:ec2::254]/latest/meta-data/',
  'http://[fd00:ec2::23]/v1/credentials',
  'http://[fd20:ce::254]/computeMetadata/v1/',
  'http://100.100.100.200/latest/meta-data/',
  'http://168.63.129.16/machine?comp=goalstate',
  'http://[fe80::a9fe:a9fe]/openstack/',
  'http://[::ffff:169.254.169.254]/latest/meta-data/',
  'http://[64:ff9b::a9fe:a9fe]/latest/meta-data/',
  'http://[2002:a9fe:a9fe::1]/latest/meta-data/',
];

test('URL_FORBIDDEN for a cloud metadata endpoint says so and never suggests allow-listing', async (t) => {
  for (const url of METADATA_URLS) {
    await t.test(url, () => {
      assert.throws(
        () => checkSourceUrl(url, STRICT),
        (err: unknown) => {
          assert.ok(err instanceof PipelineError && err.code === 'URL_FORBIDDEN');
          assert.match(err.message, /cloud metadata service/);
          assert.match(err.message, /never fetched/);
          assert.doesNotMatch(err.message, /ALLOWED_SOURCE_HOSTS|ALLOW_PRIVATE_NETWORKS/);
          return true;
        },
      );
    });
  }
});

test('a cloud metadata endpoint stays forbidden even when listed in allowedHosts', () => {
  const listed: UrlPolicy = { allowPrivateNetworks: false, allowedHosts: ['169.254.169.254', '[fd00:ec2::254]', '10.0.0.5'] };
  for (const url of ['http://169.254.169.254/latest/meta-data/', 'http://[fd00:ec2::254]/latest/meta-data/']) {
    assert.throws(() => checkSourceUrl(url, listed), (err: unknown) => err instanceof PipelineError && err.code === 'URL_FORBIDDEN');
  }
  // An ordinary private address on the list is still let through.
  assert.equal(checkSourceUrl('http://10.0.0.5/cat.png', listed).hostname, '10.0.0.5');
});
