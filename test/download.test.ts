import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTcpServer, type AddressInfo, type Server as TcpServer, type Socket } from 'node:net';
import { PipelineError, type ErrorCode } from '../common/errors.js';
import { createDownloader, downloadError, guardedLookup, type DownloadOptions } from '../executor/download.js';
import {
  abortError,
  cancelError,
  httpError,
  maxRedirectsError,
  readError,
  requestError,
  timeoutError,
  wrappedError,
} from './helpers/got-errors.js';

const BODY = Buffer.from(Array.from({ length: 3000 }, (_, i) => (i * 7) % 256));

let server: Server;
let base: string;
let port: number;
let connections = 0;
/** Speaks broken HTTP on purpose, which node:http would refuse to send. */
let raw: TcpServer;
let rawBase: string;
const rawSockets = new Set<Socket>();
const seen: { url: string; headers: IncomingMessage['headers'] }[] = [];

function route(req: IncomingMessage, res: ServerResponse): void {
  const url = new URL(req.url ?? '/', 'http://x');
  seen.push({ url: url.pathname, headers: req.headers });
  switch (url.pathname) {
    case '/image.bin':
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': BODY.length });
      return void res.end(BODY);
    case '/status': {
      const code = Number(url.searchParams.get('code'));
      const retryAfter = url.searchParams.get('retry-after');
      res.writeHead(code, { 'content-type': 'text/plain', ...(retryAfter === null ? {} : { 'retry-after': retryAfter }) });
      return void res.end(`status ${code}`);
    }
    case '/drip': {
      // A slow-drip source: 1 byte a second, far below any sane minimum rate.
      res.writeHead(200, { 'content-length': 1000 });
      res.write(Buffer.alloc(1));
      const timer = setInterval(() => res.write(Buffer.alloc(1)), 1000);
      res.on('close', () => clearInterval(timer));
      return;
    }
    case '/silent':
      // Headers, then nothing: no progress event ever fires for the body.
      res.writeHead(200, { 'content-length': 1000 });
      return void res.flushHeaders();
    case '/steady': {
      // A healthy transfer that lasts past a short grace period: 16 KiB every 20 ms.
      const chunks = 10;
      res.writeHead(200, { 'content-length': chunks * 16_384 });
      let sent = 0;
      const timer = setInterval(() => {
        res.write(Buffer.alloc(16_384, sent));
        if (++sent === chunks) {
          clearInterval(timer);
          res.end();
        }
      }, 20);
      res.on('close', () => clearInterval(timer));
      return;
    }
    case '/declared-large':
      // Claims 2000 bytes but sends them only slowly: the client must give up on the header alone.
      res.writeHead(200, { 'content-length': 2000 });
      return void res.write(Buffer.alloc(10));
    case '/endless': {
      // Chunked, no content-length: only the byte count while streaming can stop this.
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      const timer = setInterval(() => res.write(Buffer.alloc(256)), 2);
      res.on('close', () => clearInterval(timer));
      return;
    }
    case '/hang':
      return; // never answers
    case '/redirect':
      res.writeHead(302, { location: url.searchParams.get('to') ?? '/image.bin' });
      return void res.end();
    case '/loop':
      res.writeHead(302, { location: '/loop' });
      return void res.end();
    default:
      res.writeHead(404);
      res.end();
  }
}

/** Raw responses by path, for the raw TCP server. */
const RAW: Record<string, (socket: Socket) => void> = {
  '/bad-content-length': (s) => void s.end('HTTP/1.1 200 OK\r\nContent-Length: 12abc\r\n\r\nhello'),
  '/huge-header': (s) => void s.end(`HTTP/1.1 200 OK\r\nX-Filler: ${'a'.repeat(100 * 1024)}\r\nContent-Length: 5\r\n\r\nhello`),
  '/not-http': (s) => void s.end('SSH-2.0-OpenSSH_9.6\r\n\r\n'),
  // Declares 3000 bytes, sends 100, then the connection drops: a transfer cut short, not malformed.
  '/cut-short': (s) => void s.write(`HTTP/1.1 200 OK\r\nContent-Length: 3000\r\n\r\n${'x'.repeat(100)}`, () => s.destroy()),
};

function rawRoute(socket: Socket): void {
  rawSockets.add(socket);
  socket.on('close', () => rawSockets.delete(socket));
  socket.on('error', () => {}); // the client hangs up on bad responses; that is the point
  let head = '';
  socket.on('data', (chunk: Buffer) => {
    head += chunk.toString('latin1');
    if (!head.includes('\r\n\r\n')) return;
    const path = head.split(' ')[1] ?? '';
    (RAW[path] ?? ((s: Socket) => void s.end('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n')))(socket);
  });
}

before(async () => {
  server = createServer(route);
  server.on('connection', () => connections++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
  base = `http://127.0.0.1:${port}`;
  raw = createTcpServer(rawRoute);
  await new Promise<void>((resolve) => raw.listen(0, '127.0.0.1', resolve));
  rawBase = `http://127.0.0.1:${(raw.address() as AddressInfo).port}`;
});

after(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  for (const socket of rawSockets) socket.destroy();
  await new Promise((resolve) => raw.close(resolve));
});

function options(overrides: Partial<DownloadOptions> = {}): DownloadOptions {
  return {
    connectTimeoutMs: 2000,
    responseTimeoutMs: 5000,
    totalTimeoutMs: 10_000,
    maxBytes: 1_000_000,
    maxRedirects: 3,
    minBytesPerSecond: 16_384,
    rateGraceMs: 5000,
    // The test servers are on loopback, so they must be listed like the real fileserver is.
    policy: { allowPrivateNetworks: false, allowedHosts: [`127.0.0.1:${port}`, new URL(rawBase).host] },
    ...overrides,
  };
}

async function rejectsWith(promise: Promise<unknown>, code: ErrorCode, retryable?: boolean): Promise<PipelineError> {
  let caught: PipelineError | undefined;
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof PipelineError, `expected a PipelineError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    if (retryable !== undefined) assert.equal(err.retryable, retryable);
    caught = err;
    return true;
  });
  return caught as PipelineError;
}

test('200: returns the body bytes, asks for identity encoding', async () => {
  const download = createDownloader(options());
  const body = await download(`${base}/image.bin`);
  assert.ok(body.equals(BODY));
  const request = seen.findLast((s) => s.url === '/image.bin');
  assert.equal(request?.headers['accept-encoding'], 'identity');
});

test('keep-alive: consecutive downloads reuse one connection', async () => {
  const download = createDownloader(options());
  const before = connections;
  for (let i = 0; i < 3; i++) await download(`${base}/image.bin`);
  assert.equal(connections - before, 1);
});

test('404 and 410 -> DOWNLOAD_NOT_FOUND, not retryable', async () => {
  const download = createDownloader(options());
  const err = await rejectsWith(download(`${base}/status?code=404`), 'DOWNLOAD_NOT_FOUND', false);
  assert.match(err.message, /404/);
  assert.match(err.message, new RegExp(`127\\.0\\.0\\.1:${port}/status`));
  assert.ok(err.cause !== undefined);
  await rejectsWith(download(`${base}/status?code=410`), 'DOWNLOAD_NOT_FOUND', false);
});

test('503, 429 -> DOWNLOAD_HTTP_5XX retryable; 403 -> DOWNLOAD_HTTP_4XX not retryable', async () => {
  const download = createDownloader(options());
  await rejectsWith(download(`${base}/status?code=503`), 'DOWNLOAD_HTTP_5XX', true);
  await rejectsWith(download(`${base}/status?code=429`), 'DOWNLOAD_HTTP_5XX', true);
  await rejectsWith(download(`${base}/status?code=403`), 'DOWNLOAD_HTTP_4XX', false);
});

test('content-length over maxBytes -> DOWNLOAD_TOO_LARGE before the body arrives', async () => {
  const download = createDownloader(options({ maxBytes: 1000 }));
  const err = await rejectsWith(download(`${base}/declared-large`), 'DOWNLOAD_TOO_LARGE', false);
  assert.match(err.message, /content-length 2000/);
});

test('chunked body over maxBytes without content-length -> DOWNLOAD_TOO_LARGE while streaming', async () => {
  const download = createDownloader(options({ maxBytes: 50_000 }));
  const err = await rejectsWith(download(`${base}/endless`), 'DOWNLOAD_TOO_LARGE', false);
  assert.match(err.message, /50000 bytes/);
});

test('a server that never answers -> DOWNLOAD_TIMEOUT', async () => {
  const download = createDownloader(options({ responseTimeoutMs: 100, totalTimeoutMs: 300 }));
  await rejectsWith(download(`${base}/hang`), 'DOWNLOAD_TIMEOUT', true);
});

test('refused port -> DOWNLOAD_CONNECTION', async () => {
  const closed = createServer();
  await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
  const deadPort = (closed.address() as AddressInfo).port;
  await new Promise((resolve) => closed.close(resolve));
  const download = createDownloader(options({ policy: { allowPrivateNetworks: true, allowedHosts: [] } }));
  await rejectsWith(download(`http://127.0.0.1:${deadPort}/x.png`), 'DOWNLOAD_CONNECTION', true);
});

test('loopback source not in allowedHosts -> URL_FORBIDDEN, nothing is requested', async () => {
  const download = createDownloader(options({ policy: { allowPrivateNetworks: false, allowedHosts: [] } }));
  const count = seen.length;
  await rejectsWith(download(`${base}/image.bin`), 'URL_FORBIDDEN', false);
  // A name that resolves to loopback is caught by the DNS check instead.
  await rejectsWith(download(`http://localhost:${port}/image.bin`), 'URL_FORBIDDEN', false);
  assert.equal(seen.length, count);
});

test('allowPrivateNetworks lets loopback through', async () => {
  const download = createDownloader(options({ policy: { allowPrivateNetworks: true, allowedHosts: [] } }));
  assert.ok((await download(`http://localhost:${port}/image.bin`)).equals(BODY));
});

test('redirects: followed within the policy, refused to a forbidden target', async () => {
  const download = createDownloader(options());
  assert.ok((await download(`${base}/redirect?to=/image.bin`)).equals(BODY));
  const count = seen.length;
  // Same server, but reached by a literal other loopback address or by a name: both forbidden.
  await rejectsWith(download(`${base}/redirect?to=http://127.0.0.2:${port}/image.bin`), 'URL_FORBIDDEN', false);
  await rejectsWith(download(`${base}/redirect?to=http://localhost:${port}/image.bin`), 'URL_FORBIDDEN', false);
  await rejectsWith(download(`${base}/redirect?to=file:///etc/passwd`), 'URL_INVALID', false);
  assert.deepEqual(seen.slice(count).map((s) => s.url), ['/redirect', '/redirect', '/redirect']);
});

test('a redirect loop stops at maxRedirects, not retryable', async () => {
  const download = createDownloader(options({ maxRedirects: 2 }));
  const count = seen.length;
  await rejectsWith(download(`${base}/loop`), 'DOWNLOAD_HTTP_4XX', false);
  assert.equal(seen.length - count, 3);
});

test('abort via signal -> TASK_KILLED, before or during the request', async () => {
  const download = createDownloader(options());
  const controller = new AbortController();
  const pending = download(`${base}/hang`, controller.signal);
  setImmediate(() => controller.abort());
  await rejectsWith(pending, 'TASK_KILLED');
  await rejectsWith(download(`${base}/image.bin`, AbortSignal.abort()), 'TASK_KILLED');
});

test('invalid URL -> URL_INVALID without a request', async () => {
  const download = createDownloader(options());
  await rejectsWith(download('not a url'), 'URL_INVALID', false);
});

test('guardedLookup refuses loopback answers in both callback forms', async () => {
  const single = await new Promise<unknown>((resolve) => guardedLookup('localhost', {}, (err) => resolve(err)));
  const all = await new Promise<unknown>((resolve) => guardedLookup('localhost', { all: true }, (err) => resolve(err)));
  for (const err of [single, all]) assert.ok(err instanceof PipelineError && err.code === 'URL_FORBIDDEN', String(err));
});

test('a host name that does not exist -> DOWNLOAD_HOST_UNKNOWN, not retryable', async () => {
  // .invalid is reserved (RFC 6761): it never resolves, with or without the address guard.
  for (const allowPrivateNetworks of [false, true]) {
    const download = createDownloader(options({ policy: { allowPrivateNetworks, allowedHosts: [] } }));
    const err = await rejectsWith(download('http://no-such-host.invalid/a.png'), 'DOWNLOAD_HOST_UNKNOWN', false);
    assert.match(err.message, /no-such-host\.invalid/);
  }
});

test('malformed HTTP -> DOWNLOAD_BAD_RESPONSE, not retryable', async (t) => {
  const download = createDownloader(options());
  for (const path of ['/bad-content-length', '/huge-header', '/not-http']) {
    await t.test(path, async () => {
      await rejectsWith(download(`${rawBase}${path}`), 'DOWNLOAD_BAD_RESPONSE', false);
    });
  }
});

test('a body cut short mid-transfer -> DOWNLOAD_CONNECTION, retryable', async () => {
  await rejectsWith(createDownloader(options())(`${rawBase}/cut-short`), 'DOWNLOAD_CONNECTION', true);
});

test('Retry-After on 429 and 503 -> retryAfterMs, in seconds or as an HTTP-date', async (t) => {
  const download = createDownloader(options());
  for (const code of [429, 503]) {
    await t.test(`${code}, Retry-After: 7`, async () => {
      const err = await rejectsWith(download(`${base}/status?code=${code}&retry-after=7`), 'DOWNLOAD_HTTP_5XX', true);
      assert.equal(err.retryAfterMs, 7000);
    });
    await t.test(`${code}, Retry-After: an HTTP-date a minute ahead`, async () => {
      const date = new Date(Date.now() + 60_000).toUTCString();
      const err = await rejectsWith(download(`${base}/status?code=${code}&retry-after=${encodeURIComponent(date)}`), 'DOWNLOAD_HTTP_5XX', true);
      // toUTCString drops the milliseconds, so the wait is just under a minute.
      assert.ok(err.retryAfterMs !== undefined && err.retryAfterMs > 50_000 && err.retryAfterMs <= 60_000, String(err.retryAfterMs));
    });
  }
  await t.test('garbage is ignored', async () => {
    const err = await rejectsWith(download(`${base}/status?code=503&retry-after=soon`), 'DOWNLOAD_HTTP_5XX', true);
    assert.equal(err.retryAfterMs, undefined);
  });
});

test('minimum transfer rate: a slow drip -> DOWNLOAD_TOO_SLOW instead of waiting for the timeout', async () => {
  const download = createDownloader(options({ minBytesPerSecond: 1000, rateGraceMs: 300, totalTimeoutMs: 60_000 }));
  const err = await rejectsWith(download(`${base}/drip`), 'DOWNLOAD_TOO_SLOW', true);
  assert.match(err.message, /below the minimum of 1000 bytes\/s/);
});

test('minimum transfer rate: headers then nothing -> DOWNLOAD_TOO_SLOW', async () => {
  const download = createDownloader(options({ minBytesPerSecond: 1000, rateGraceMs: 300, totalTimeoutMs: 60_000 }));
  const err = await rejectsWith(download(`${base}/silent`), 'DOWNLOAD_TOO_SLOW', true);
  assert.match(err.message, /^GET .*\/silent too slow: 0 bytes/);
});

test('minimum transfer rate: fast downloads are unaffected, 0 disables the check', async () => {
  const strict = createDownloader(options({ minBytesPerSecond: 16_384, rateGraceMs: 100 }));
  assert.ok((await strict(`${base}/image.bin`)).equals(BODY));
  assert.equal((await strict(`${base}/steady`)).length, 10 * 16_384);
  const off = createDownloader(options({ minBytesPerSecond: 0, rateGraceMs: 100, totalTimeoutMs: 700 }));
  // With the check off, only the total timeout ends a silent source.
  await rejectsWith(off(`${base}/silent`), 'DOWNLOAD_TIMEOUT', true);
});

test('downloadError maps got errors to codes', async (t) => {
  const cases: [string, unknown, ErrorCode][] = [
    ['404', httpError(404), 'DOWNLOAD_NOT_FOUND'],
    ['410', httpError(410), 'DOWNLOAD_NOT_FOUND'],
    ['400', httpError(400), 'DOWNLOAD_HTTP_4XX'],
    ['401', httpError(401), 'DOWNLOAD_HTTP_4XX'],
    ['408', httpError(408), 'DOWNLOAD_HTTP_5XX'],
    ['429', httpError(429), 'DOWNLOAD_HTTP_5XX'],
    ['500', httpError(500), 'DOWNLOAD_HTTP_5XX'],
    ['599', httpError(599), 'DOWNLOAD_HTTP_5XX'],
    ['got timeout', timeoutError(), 'DOWNLOAD_TIMEOUT'],
    ['os timeout', requestError('ETIMEDOUT', 'connect ETIMEDOUT'), 'DOWNLOAD_TIMEOUT'],
    ['refused', requestError('ECONNREFUSED', 'connect ECONNREFUSED'), 'DOWNLOAD_CONNECTION'],
    ['reset', readError('ECONNRESET', 'read ECONNRESET'), 'DOWNLOAD_CONNECTION'],
    ['body cut short', readError('ERR_HTTP_CONTENT_LENGTH_MISMATCH', 'Content-Length mismatch'), 'DOWNLOAD_CONNECTION'],
    ['no such host', requestError('ENOTFOUND', 'getaddrinfo ENOTFOUND x'), 'DOWNLOAD_HOST_UNKNOWN'],
    ['dns again', requestError('EAI_AGAIN', 'getaddrinfo EAI_AGAIN x'), 'DOWNLOAD_CONNECTION'],
    ['hang up', requestError('ECONNRESET', 'socket hang up'), 'DOWNLOAD_CONNECTION'],
    ['invalid content-length', requestError('HPE_INVALID_CONTENT_LENGTH', 'Parse Error'), 'DOWNLOAD_BAD_RESPONSE'],
    ['header overflow', requestError('HPE_HEADER_OVERFLOW', 'Parse Error: Header overflow'), 'DOWNLOAD_BAD_RESPONSE'],
    ['other parse error', requestError('HPE_INVALID_CHUNK_SIZE', 'Parse Error'), 'DOWNLOAD_BAD_RESPONSE'],
    ['abort', abortError(), 'TASK_KILLED'],
    ['redirect to file:', requestError('ERR_UNSUPPORTED_PROTOCOL', 'Unsupported protocol: file:'), 'URL_INVALID'],
    ['redirect loop', maxRedirectsError(), 'DOWNLOAD_HTTP_4XX'],
    ['wrapped policy error', wrappedError(new PipelineError('URL_FORBIDDEN', 'no')), 'URL_FORBIDDEN'],
    ['unexplained cancel', cancelError(), 'INTERNAL'],
    ['plain bug', new TypeError('oops'), 'INTERNAL'],
  ];
  for (const [name, err, code] of cases) {
    await t.test(`${name} -> ${code}`, () => {
      const mapped = downloadError(err, 'http://example.com/a.png');
      assert.equal(mapped.code, code);
      if (code !== 'URL_FORBIDDEN') {
        assert.equal(mapped.cause, err);
        assert.match(mapped.message, /example\.com\/a\.png/);
      }
    });
  }
  await t.test('the abort flag wins over what got reports', () => {
    assert.equal(downloadError(httpError(500), 'http://e/', { aborted: true }).code, 'TASK_KILLED');
  });
  await t.test('the size flag wins over the cancel error', () => {
    assert.equal(downloadError(cancelError(), 'http://e/', { tooLarge: 'too big' }).code, 'DOWNLOAD_TOO_LARGE');
  });
  await t.test('the rate flag wins over the cancel error', () => {
    assert.equal(downloadError(cancelError(), 'http://e/', { tooSlow: '1 byte in 9 s' }).code, 'DOWNLOAD_TOO_SLOW');
  });
  await t.test('Retry-After rides on retryable statuses only', () => {
    const headers = { 'retry-after': '7' };
    assert.equal(downloadError(httpError(503, { headers }), 'http://e/').retryAfterMs, 7000);
    assert.equal(downloadError(httpError(429, { headers }), 'http://e/').retryAfterMs, 7000);
    assert.equal(downloadError(httpError(404, { headers }), 'http://e/').retryAfterMs, undefined);
    assert.equal(downloadError(httpError(503), 'http://e/').retryAfterMs, undefined);
  });
});
