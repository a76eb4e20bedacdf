import { after, before, beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PipelineError, type ErrorCode } from '../common/errors.js';
import { createUploader, serverMessage, uploadError, type UploaderOptions } from '../executor/upload.js';
import { abortError, httpError, parseError, requestError, timeoutError } from './helpers/got-errors.js';

const TOKEN = 'test-token-123';
const IMAGE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3, 250, 251, 0, 255]);

interface Received {
  path: string;
  authorization: string | undefined;
  /** Field names in the order they arrived. */
  order: string[];
  name: string | undefined;
  file: { bytes: Buffer; filename: string; type: string } | undefined;
}

let server: Server;
let base: string;
let received: Received[] = [];
/** Status codes to answer with, one per request; 201 once the script runs out. */
let script: number[] = [];

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Parses the multipart body with the platform's own parser (undici's Response.formData). */
async function parse(req: IncomingMessage): Promise<Received> {
  const body = await readBody(req);
  const form = await new Response(body, { headers: { 'content-type': req.headers['content-type'] ?? '' } }).formData();
  const name = form.get('name');
  const image = form.get('image');
  const file =
    image !== null && typeof image !== 'string'
      ? { bytes: Buffer.from(await image.arrayBuffer()), filename: (image as File).name, type: image.type }
      : undefined;
  return {
    path: req.url ?? '',
    authorization: req.headers.authorization,
    order: [...form.keys()],
    name: typeof name === 'string' ? name : undefined,
    file,
  };
}

async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (req.url === '/hang') return;
  const got = await parse(req);
  received.push(got);
  const status = script.shift() ?? 201;
  res.writeHead(status, { 'content-type': 'application/json' });
  if (req.url === '/odd-body') return void res.end(JSON.stringify({ ok: true }));
  if (status === 201) {
    const stored = `${got.name ?? 'upload'}.png`;
    return void res.end(JSON.stringify({ name: stored, url: `${base}/files/${stored}`, bytes: got.file?.bytes.length ?? 0, format: 'png' }));
  }
  const message = status === 401 ? 'missing or wrong bearer token' : status === 413 ? 'file too large' : 'disk on fire';
  res.end(JSON.stringify({ error: { code: `HTTP_${status}`, message } }));
}

before(async () => {
  server = createServer((req, res) => void handle(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

beforeEach(() => {
  received = [];
  script = [];
});

function uploader(overrides: Partial<UploaderOptions> = {}) {
  return createUploader({ token: TOKEN, timeoutMs: 5000, retries: 2, retryDelayMs: 5, ...overrides });
}

async function rejectsWith(promise: Promise<unknown>, code: ErrorCode): Promise<PipelineError> {
  let caught: PipelineError | undefined;
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof PipelineError, `expected a PipelineError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    caught = err;
    return true;
  });
  return caught as PipelineError;
}

test('201: bearer token, name field before the file, exact bytes, filename and type', async () => {
  const stored = await uploader()({ url: `${base}/upload`, name: 'cat-3f9a1c0b2d4e' }, { data: IMAGE, format: 'png' });
  assert.deepEqual(stored, { name: 'cat-3f9a1c0b2d4e.png', url: `${base}/files/cat-3f9a1c0b2d4e.png`, bytes: IMAGE.length });
  assert.equal(received.length, 1);
  const [r] = received;
  assert.equal(r?.path, '/upload');
  assert.equal(r?.authorization, `Bearer ${TOKEN}`);
  assert.deepEqual(r?.order, ['name', 'image']);
  assert.equal(r?.name, 'cat-3f9a1c0b2d4e');
  assert.ok(r?.file?.bytes.equals(IMAGE));
  assert.equal(r?.file?.filename, 'cat-3f9a1c0b2d4e.png');
  assert.equal(r?.file?.type, 'image/png');
});

test('file name and content type follow the format', async () => {
  await uploader()({ url: `${base}/upload`, name: 'photo' }, { data: IMAGE, format: 'jpeg' });
  assert.equal(received[0]?.file?.filename, 'photo.jpg');
  assert.equal(received[0]?.file?.type, 'image/jpeg');
});

test('401 -> UPLOAD_REJECTED with the server message, no retry', async () => {
  script = [401];
  const err = await rejectsWith(uploader()({ url: `${base}/upload`, name: 'a' }, { data: IMAGE, format: 'png' }), 'UPLOAD_REJECTED');
  assert.equal(err.retryable, false);
  assert.match(err.message, /401/);
  assert.match(err.message, /missing or wrong bearer token/);
  assert.equal(received.length, 1);
});

test('413 -> UPLOAD_REJECTED, no retry', async () => {
  script = [413];
  await rejectsWith(uploader()({ url: `${base}/upload`, name: 'a' }, { data: IMAGE, format: 'png' }), 'UPLOAD_REJECTED');
  assert.equal(received.length, 1);
});

test('500 twice then 201 with retries=2 -> success, the full body sent each time', async () => {
  script = [500, 500];
  const stored = await uploader({ retries: 2 })({ url: `${base}/upload`, name: 'retry-me' }, { data: IMAGE, format: 'png' });
  assert.equal(stored.name, 'retry-me.png');
  assert.equal(received.length, 3);
  for (const r of received) {
    assert.equal(r.name, 'retry-me');
    assert.ok(r.file?.bytes.equals(IMAGE));
  }
});

test('500 always -> UPLOAD_FAILED after 1 + retries attempts, retryable', async () => {
  script = [500, 500, 500, 500];
  const err = await rejectsWith(uploader({ retries: 2 })({ url: `${base}/upload`, name: 'a' }, { data: IMAGE, format: 'png' }), 'UPLOAD_FAILED');
  assert.equal(err.retryable, true);
  assert.match(err.message, /500: disk on fire/);
  assert.equal(received.length, 3);
});

test('a server that never answers -> UPLOAD_FAILED', async () => {
  await rejectsWith(uploader({ timeoutMs: 100, retries: 0 })({ url: `${base}/hang`, name: 'a' }, { data: IMAGE, format: 'png' }), 'UPLOAD_FAILED');
});

test('refused connection -> UPLOAD_FAILED', async () => {
  const closed = createServer();
  await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
  const port = (closed.address() as AddressInfo).port;
  await new Promise((resolve) => closed.close(resolve));
  await rejectsWith(uploader({ retries: 1 })({ url: `http://127.0.0.1:${port}/upload`, name: 'a' }, { data: IMAGE, format: 'png' }), 'UPLOAD_FAILED');
});

test('a 201 without name/url/bytes -> UPLOAD_FAILED', async () => {
  await rejectsWith(uploader()({ url: `${base}/odd-body`, name: 'a' }, { data: IMAGE, format: 'png' }), 'UPLOAD_FAILED');
});

test('abort via signal -> TASK_KILLED', async () => {
  const controller = new AbortController();
  const pending = uploader()({ url: `${base}/hang`, name: 'a' }, { data: IMAGE, format: 'png' }, controller.signal);
  setImmediate(() => controller.abort());
  await rejectsWith(pending, 'TASK_KILLED');
  await rejectsWith(uploader()({ url: `${base}/upload`, name: 'a' }, { data: IMAGE, format: 'png' }, AbortSignal.abort()), 'TASK_KILLED');
});

test('uploadError maps statuses and failures', async (t) => {
  const cases: [string, unknown, ErrorCode][] = [
    ['400', httpError(400), 'UPLOAD_REJECTED'],
    ['401', httpError(401), 'UPLOAD_REJECTED'],
    ['403', httpError(403), 'UPLOAD_REJECTED'],
    ['408', httpError(408), 'UPLOAD_FAILED'],
    ['429', httpError(429), 'UPLOAD_FAILED'],
    ['500', httpError(500), 'UPLOAD_FAILED'],
    ['503', httpError(503), 'UPLOAD_FAILED'],
    ['timeout', timeoutError(), 'UPLOAD_FAILED'],
    ['refused', requestError('ECONNREFUSED', 'connect ECONNREFUSED'), 'UPLOAD_FAILED'],
    ['fileserver name not resolvable (restarting container)', requestError('ENOTFOUND'), 'UPLOAD_FAILED'],
    ['reply is not JSON', parseError(), 'UPLOAD_FAILED'],
    ['abort', abortError(), 'TASK_KILLED'],
  ];
  for (const [name, err, code] of cases) {
    await t.test(`${name} -> ${code}`, () => {
      const mapped = uploadError(err, 'http://fs/upload');
      assert.equal(mapped.code, code);
      assert.equal(mapped.cause, err);
    });
  }
  await t.test('the abort flag wins', () => assert.equal(uploadError(httpError(500), 'http://fs/upload', true).code, 'TASK_KILLED'));
  await t.test('the server message comes from the error body', () => {
    const err = uploadError(httpError(401, { body: { error: { message: 'bad token' } } }), 'http://fs/upload');
    assert.match(err.message, /401: bad token/);
  });
  await t.test('Retry-After rides on a retryable failure only', () => {
    const headers = { 'retry-after': '3' };
    assert.equal(uploadError(httpError(503, { headers }), 'http://fs/upload').retryAfterMs, 3000);
    assert.equal(uploadError(httpError(401, { headers }), 'http://fs/upload').retryAfterMs, undefined);
  });
});

test('serverMessage reads the common error body shapes', async (t) => {
  const cases: [string, unknown, string | undefined][] = [
    ['nested error object', '{"error":{"code":"X","message":"bad token"}}', 'bad token'],
    ['error string', '{"error":"bad token"}', 'bad token'],
    ['message field', { message: 'bad token' }, 'bad token'],
    ['buffer', Buffer.from('{"error":"bad token"}'), 'bad token'],
    ['plain text', 'Unauthorized\n', 'Unauthorized'],
    ['empty', '', undefined],
    ['json without a message', '{"ok":false}', undefined],
    ['nothing', undefined, undefined],
  ];
  for (const [name, body, want] of cases) await t.test(name, () => assert.equal(serverMessage(body), want));
});
