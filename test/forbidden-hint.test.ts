/** The URL_FORBIDDEN message offers allow-listing only where an image server can live. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PipelineError } from '../common/errors.js';
import { forbiddenMessage } from '../executor/forbidden-hint.js';
import { classifyAddress } from '../executor/special-addresses.js';
import { checkSourceUrl, literalAddress, type UrlPolicy } from '../executor/url-policy.js';

/** As an executor of a stack whose fileserver runs on PORT=18181. */
const STACK_ON_18181: UrlPolicy = { allowPrivateNetworks: false, allowedHosts: ['127.0.0.1:18181'] };

type Advice = 'allow-list' | 'base' | 'none' | 'never (metadata)';
const CASES: [url: string, advice: Advice, mentions: RegExp][] = [
  ['http://169.254.169.254/latest/meta-data/', 'never (metadata)', /cloud metadata service/],
  ['http://[fd00:ec2::254]/latest/meta-data/', 'never (metadata)', /cloud metadata service/],
  ['http://169.254.1.7/cat.png', 'none', /link-local/],
  ['http://[fe80::1]/cat.png', 'none', /link-local/],
  ['http://224.0.0.1/cat.png', 'none', /multicast/],
  ['http://0.0.0.0:8080/cat.png', 'none', /this host/],
  ['http://198.51.100.7/cat.png', 'none', /documentation/],
  ['http://240.0.0.1/cat.png', 'none', /reserved/],
  ['http://255.255.255.255/cat.png', 'none', /broadcast/],
  ['http://127.0.0.1:8080/images/cat.png', 'base', /PORT=18181.*FILESERVER_URL=http:\/\/127\.0\.0\.1:18181/],
  ['http://127.0.0.1/cat.png', 'base', /PORT=18181/],
  ['http://[::1]:8080/cat.png', 'base', /PORT=18181/],
  ['http://[::ffff:127.0.0.1]:8080/cat.png', 'base', /IPv4-mapped 127\.0\.0\.1: loopback.*PORT=18181/],
  ['http://192.168.1.20/cat.png', 'allow-list', /add "192\.168\.1\.20" to ALLOWED_SOURCE_HOSTS/],
  ['http://10.0.0.5:8080/cat.png', 'allow-list', /add "10\.0\.0\.5:8080" to ALLOWED_SOURCE_HOSTS/],
  ['http://[fd12::1]/cat.png', 'allow-list', /unique local.*add "\[fd12::1\]"/],
  ['http://100.64.0.9/cat.png', 'allow-list', /CGNAT.*add "100\.64\.0\.9"/],
];

for (const [raw, advice, mentions] of CASES) {
  test(`URL_FORBIDDEN for ${raw}: ${advice}`, () => {
    assert.throws(
      () => checkSourceUrl(raw, STACK_ON_18181),
      (err: unknown) => {
        assert.ok(err instanceof PipelineError && err.code === 'URL_FORBIDDEN', String(err));
        assert.match(err.message, mentions);
        const suggestsAllowList = /ALLOWED_SOURCE_HOSTS|ALLOW_PRIVATE_NETWORKS/.test(err.message);
        assert.equal(suggestsAllowList, advice === 'allow-list', err.message);
        assert.equal(/PORT=|IMAGES_BASE_URL/.test(err.message), advice === 'base', err.message);
        assert.doesNotMatch(err.message, /"127\.0\.0\.1:8080"/, 'never suggests allow-listing the wrong fileserver port');
        return true;
      },
    );
  });
}

test('loopback with no local fileserver allow-listed: allow-listing is the way (a local image server)', () => {
  const url = new URL('http://127.0.0.1:9000/cat.png');
  const message = forbiddenMessage(url, literalAddress(url.hostname)!, classifyAddress('127.0.0.1'), ['fileserver:8080']);
  assert.match(message, /add "127\.0\.0\.1:9000" to ALLOWED_SOURCE_HOSTS/);
});
