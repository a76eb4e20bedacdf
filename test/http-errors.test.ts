import { test } from 'node:test';
import assert from 'node:assert/strict';
import { classifyHttpError, MAX_RETRY_AFTER_MS, parseRetryAfter, type HttpFailure } from '../executor/http-errors.js';
import { PipelineError } from '../common/errors.js';
import {
  abortError,
  cancelError,
  httpError,
  maxRedirectsError,
  parseError,
  readError,
  requestError,
  timeoutError,
} from './helpers/got-errors.js';

const NOW = Date.parse('2026-11-22T12:00:00Z');

test('classifyHttpError reads got classes first, then codes', async (t) => {
  const cases: [string, unknown, HttpFailure['kind']][] = [
    ['HTTPError', httpError(503), 'status'],
    ['got timeout', timeoutError(), 'timeout'],
    ['OS connect timeout', requestError('ETIMEDOUT'), 'timeout'],
    ['AbortSignal', abortError(), 'aborted'],
    ['request.cancel()', cancelError(), 'cancelled'],
    ['redirect loop', maxRedirectsError(), 'too-many-redirects'],
    ['redirect to file:', requestError('ERR_UNSUPPORTED_PROTOCOL', 'Unsupported protocol: file:'), 'unsupported-protocol'],
    ['unparsable JSON body', parseError(), 'bad-response'],
    ['ENOTFOUND', requestError('ENOTFOUND', 'getaddrinfo ENOTFOUND no-such-host.invalid'), 'host-unknown'],
    ['EAI_AGAIN (resolver down for now)', requestError('EAI_AGAIN'), 'connection'],
    ['ECONNREFUSED', requestError('ECONNREFUSED'), 'connection'],
    ['ECONNRESET', requestError('ECONNRESET'), 'connection'],
    ['EHOSTUNREACH', requestError('EHOSTUNREACH'), 'connection'],
    ['ENETUNREACH', requestError('ENETUNREACH'), 'connection'],
    ['EPIPE', requestError('EPIPE'), 'connection'],
    ['socket hang up', requestError('ECONNRESET', 'socket hang up'), 'connection'],
    ['body cut short (got: server aborted)', readError('ECONNRESET', 'The server aborted pending request'), 'connection'],
    ['body cut short (strict content-length)', readError('ERR_HTTP_CONTENT_LENGTH_MISMATCH'), 'connection'],
    ['llhttp: connection ended mid-message', requestError('HPE_INVALID_EOF_STATE'), 'connection'],
    ['llhttp: invalid Content-Length', requestError('HPE_INVALID_CONTENT_LENGTH'), 'bad-response'],
    ['llhttp: duplicate Content-Length', requestError('HPE_UNEXPECTED_CONTENT_LENGTH'), 'bad-response'],
    ['llhttp: header overflow', requestError('HPE_HEADER_OVERFLOW'), 'bad-response'],
    ['llhttp: not HTTP at all', requestError('HPE_INVALID_CONSTANT'), 'bad-response'],
    ['llhttp: bad status line', requestError('HPE_INVALID_STATUS'), 'bad-response'],
    ['llhttp: bad chunk size', requestError('HPE_INVALID_CHUNK_SIZE'), 'bad-response'],
    ['llhttp: Content-Length with Transfer-Encoding', requestError('HPE_INVALID_TRANSFER_ENCODING'), 'bad-response'],
    ['unknown got error', requestError('ERR_GOT_REQUEST_ERROR'), 'connection'],
    ['a look-alike plain object is not a got error', { name: 'HTTPError', code: 'ENOTFOUND', response: { statusCode: 500 } }, 'not-got'],
    ['plain bug', new TypeError('oops'), 'not-got'],
    ['our own error', new PipelineError('URL_FORBIDDEN', 'no'), 'not-got'],
    ['not an error', 'boom', 'not-got'],
  ];
  for (const [name, err, kind] of cases) {
    await t.test(`${name} -> ${kind}`, () => assert.equal(classifyHttpError(err, NOW).kind, kind));
  }
});

test('classifyHttpError keeps what a status failure needs', () => {
  const failure = classifyHttpError(
    httpError(429, { statusMessage: 'Too Many Requests', headers: { 'retry-after': '7' }, body: '{"error":"slow down"}' }),
    NOW,
  );
  assert.deepEqual(failure, {
    kind: 'status',
    status: 429,
    statusMessage: 'Too Many Requests',
    body: '{"error":"slow down"}',
    retryAfterMs: 7000,
  });
  const bare = classifyHttpError(httpError(500, { statusMessage: '' }), NOW);
  assert.ok(bare.kind === 'status' && bare.statusMessage === undefined && bare.retryAfterMs === undefined);
});

test('parseRetryAfter: delta-seconds, HTTP-dates, caps and garbage', async (t) => {
  const cases: [string, string | undefined, number | undefined][] = [
    ['absent', undefined, undefined],
    ['empty', '', undefined],
    ['seconds', '7', 7000],
    ['zero', '0', 0],
    ['spaces around', ' 120 ', 120_000],
    ['over the cap', '86400', MAX_RETRY_AFTER_MS],
    ['absurdly large', '99999999999999999999999', MAX_RETRY_AFTER_MS],
    ['IMF-fixdate', 'Sun, 22 Nov 2026 12:00:30 GMT', 30_000],
    ['RFC 850 date', 'Sunday, 22-Nov-26 12:01:00 GMT', 60_000],
    ['asctime date (no zone, still GMT)', 'Sun Nov 22 12:00:10 2026', 10_000],
    ['date in the past', 'Sun, 22 Nov 2026 11:00:00 GMT', 0],
    ['date far ahead', 'Tue, 22 Dec 2026 12:00:00 GMT', MAX_RETRY_AFTER_MS],
    ['negative', '-5', undefined],
    ['fraction', '1.5', undefined],
    ['words', 'soon', undefined],
    ['day name then garbage', 'Sun, the 22nd', undefined],
    ['bare ISO date', '2026-11-22T12:00:30Z', undefined],
  ];
  for (const [name, value, want] of cases) {
    await t.test(`${name}: ${JSON.stringify(value)} -> ${String(want)}`, () => assert.equal(parseRetryAfter(value, NOW), want));
  }
});
