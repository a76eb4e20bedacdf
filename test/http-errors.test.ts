import { test } from 'node:test';
import assert from 'node:assert/strict';
import { classifyHttpError, type HttpFailure } from '../executor/http-errors.js';
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
    await t.test(`${name} -> ${kind}`, () => assert.equal(classifyHttpError(err).kind, kind));
  }
});

test('classifyHttpError keeps what a status failure needs', () => {
  const failure = classifyHttpError(httpError(429, { statusMessage: 'Too Many Requests', body: '{"error":"slow down"}' }));
  assert.deepEqual(failure, {
    kind: 'status',
    status: 429,
    statusMessage: 'Too Many Requests',
    body: '{"error":"slow down"}',
  });
  const bare = classifyHttpError(httpError(500, { statusMessage: '' }));
  assert.ok(bare.kind === 'status' && bare.statusMessage === undefined);
});
