/**
 * Fileserver: pure helpers (magic bytes, safe names, config) plus a real HTTP server on port 0
 * with fresh temp directories per test.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { request, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join, relative, sep } from 'node:path';
import sharp from 'sharp';
import { ConfigError } from '../common/config.js';
import { IMAGE_FORMATS, type ImageFormat } from '../common/image-format.js';
import { silentLogger } from '../common/log.js';
import { createFileserverApp } from '../fileserver/app.js';
import { DEFAULT_MAX_UPLOAD_BYTES, loadFileserverConfig } from '../fileserver/config.js';
import { detectImageType } from '../fileserver/image-type.js';
import { safeOutputName } from '../fileserver/safe-name.js';

const TOKEN = 'test-token-0123456789abcdef';

function solidImage(format: ImageFormat, colour = '#ff0000', size = 8): Promise<Buffer> {
  return sharp({ create: { width: size, height: size, channels: 3, background: colour } })
    .toFormat(format)
    .toBuffer();
}

function ascii(text: string): Uint8Array {
  return new Uint8Array(Buffer.from(text, 'latin1'));
}

/** An ISO BMFF ftyp box with the given brands (major first), optionally followed by more bytes. */
function ftypBox(major: string, compatible: string[], trailing = 0): Uint8Array {
  const size = 16 + 4 * compatible.length;
  const box = Buffer.alloc(size + trailing);
  box.writeUInt32BE(size, 0);
  box.write('ftyp', 4, 'latin1');
  box.write(major, 8, 'latin1');
  compatible.forEach((brand, i) => box.write(brand, 16 + 4 * i, 'latin1'));
  return new Uint8Array(box);
}

// ---------- detectImageType ----------

test('detectImageType recognises every format sharp writes', async () => {
  for (const format of IMAGE_FORMATS) {
    const bytes = await solidImage(format);
    assert.equal(detectImageType(bytes), format, format);
    assert.equal(detectImageType(bytes.subarray(0, 64)), format, `${format} from a 64-byte head`);
  }
});

test('detectImageType handles hand-made signatures, truncation and non-images', () => {
  const cases: Array<[string, Uint8Array, ImageFormat | undefined]> = [
    ['big-endian TIFF', new Uint8Array([0x4d, 0x4d, 0x00, 0x2a, 0, 0, 0, 8]), 'tiff'],
    ['little-endian TIFF', new Uint8Array([0x49, 0x49, 0x2a, 0x00, 8, 0, 0, 0]), 'tiff'],
    ['mixed TIFF byte order', new Uint8Array([0x49, 0x49, 0x00, 0x2a]), undefined],
    ['GIF87a', ascii('GIF87a\x01\x00'), 'gif'],
    ['GIF88a is not a GIF', ascii('GIF88a\x01\x00'), undefined],
    ['AVIF as major brand', ftypBox('avif', ['mif1']), 'avif'],
    ['AVIF sequence', ftypBox('avis', []), 'avif'],
    ['AVIF only as compatible brand', ftypBox('mif1', ['miaf', 'avif']), 'avif'],
    ['HEIC is not AVIF', ftypBox('heic', ['mif1', 'heic']), undefined],
    ['avif past the end of the ftyp box', (() => {
      const box = ftypBox('mif1', ['miaf'], 8);
      box.set(ascii('avif'), 20);
      return box;
    })(), undefined],
    ['ftyp not at offset 4', new Uint8Array([0, 0, 0, 0, ...ascii('xftypavif')]), undefined],
    ['RIFF WAVE is not WebP', ascii('RIFF\x24\x00\x00\x00WAVEfmt '), undefined],
    ['JPEG cut to 2 bytes', new Uint8Array([0xff, 0xd8]), undefined],
    ['PNG cut to 7 bytes', new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a]), undefined],
    ['PNG signature with a wrong last byte', new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x00]), undefined],
    ['WebP cut before WEBP', ascii('RIFF\x24\x00\x00\x00WEB'), undefined],
    ['ftyp cut before the brand', new Uint8Array([0, 0, 0, 0x1c, ...ascii('ftypav')]), undefined],
    ['empty', new Uint8Array(0), undefined],
    ['text', ascii('hello, I am definitely a PNG'), undefined],
    ['SVG', ascii('<svg xmlns="http://www.w3.org/2000/svg"/>'), undefined],
    ['PDF', ascii('%PDF-1.7\n'), undefined],
  ];
  for (const [label, head, expected] of cases) assert.equal(detectImageType(head), expected, label);
});

// ---------- safeOutputName ----------

test('safeOutputName keeps one safe segment and the real extension', () => {
  const long = 'a'.repeat(300);
  const cases: Array<[string | undefined, ImageFormat, string]> = [
    ['cat.png', 'png', 'cat.png'],
    ['cat.png', 'jpeg', 'cat.jpg'],
    ['photo.tar.gz', 'webp', 'photo.tar.webp'],
    ['noext', 'gif', 'noext.gif'],
    ['../../etc/passwd', 'png', 'passwd.png'],
    ['..\\..\\windows\\evil.exe', 'jpeg', 'evil.jpg'],
    ['/etc/passwd', 'tiff', 'passwd.tiff'],
    ['dir/', 'png', 'fallback.png'],
    ['..', 'png', 'fallback.png'],
    ['.', 'png', 'fallback.png'],
    ['.tmp', 'png', 'tmp.png'],
    ['.hidden.png', 'png', 'hidden.png'],
    ['--rf.png', 'png', 'rf.png'],
    ['-.-.x.png', 'png', 'x.png'],
    ['my photo (1).JPG', 'jpeg', 'my-photo--1-.jpg'],
    ['café.png', 'png', 'caf-.png'],
    ['emoji😀.png', 'png', 'emoji-.png'],
    ['a\0b.png', 'png', 'a-b.png'],
    ['trailing..png', 'png', 'trailing.png'],
    ['', 'avif', 'fallback.avif'],
    [undefined, 'avif', 'fallback.avif'],
    [`${long}.png`, 'png', `${'a'.repeat(120)}.png`],
  ];
  for (const [requested, format, expected] of cases) {
    assert.equal(safeOutputName(requested, format, 'fallback'), expected, JSON.stringify(requested));
  }
});

test('safeOutputName never yields a path separator, a leading dot or an empty stem', () => {
  const hostile = ['../', '..\\', '/', '\\', '....', '.-.-', '%2e%2e%2f', 'a/../../b', '\u202e.png'];
  for (const requested of hostile) {
    const name = safeOutputName(requested, 'png', '');
    assert.match(name, /^[A-Za-z0-9_][A-Za-z0-9._-]*\.png$/, `${JSON.stringify(requested)} -> ${name}`);
  }
  // a hostile fallback is sanitised too
  assert.equal(safeOutputName(undefined, 'png', '../x'), 'x.png');
});

// ---------- config ----------

test('loadFileserverConfig applies defaults and resolves directories', () => {
  const config = loadFileserverConfig({ UPLOAD_TOKEN: 'secret' });
  assert.equal(config.port, 8080);
  assert.equal(config.host, '127.0.0.1');
  assert.equal(config.uploadDir, join(process.cwd(), 'uploads'));
  assert.equal(config.imagesDir, join(process.cwd(), 'images'));
  assert.equal(config.maxUploadBytes, DEFAULT_MAX_UPLOAD_BYTES);
  assert.equal(DEFAULT_MAX_UPLOAD_BYTES, 50 * 1024 * 1024);
  assert.equal(config.publicUrl, undefined);
  assert.ok(Object.isFrozen(config));
});

test('loadFileserverConfig reads every setting and trims the public URL', () => {
  const config = loadFileserverConfig({
    PORT: '9000',
    HOST: '0.0.0.0',
    UPLOAD_DIR: '/srv/up',
    IMAGES_DIR: 'rel/img',
    UPLOAD_TOKEN: 'secret',
    MAX_UPLOAD_BYTES: '1024',
    PUBLIC_URL: 'https://files.example.com/base/',
  });
  assert.equal(config.port, 9000);
  assert.equal(config.host, '0.0.0.0');
  assert.equal(config.uploadDir, '/srv/up');
  assert.equal(config.imagesDir, join(process.cwd(), 'rel', 'img'));
  assert.equal(config.maxUploadBytes, 1024);
  assert.equal(config.publicUrl, 'https://files.example.com/base');
});

test('loadFileserverConfig lists every problem at once', () => {
  assert.throws(
    () => loadFileserverConfig({ PORT: 'eighty', MAX_UPLOAD_BYTES: '0', PUBLIC_URL: 'ftp://x' }),
    (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.equal(err.problems.length, 4, err.message);
      assert.match(err.message, /UPLOAD_TOKEN is required: set it/);
      assert.match(err.message, /PORT/);
      assert.match(err.message, /MAX_UPLOAD_BYTES/);
      assert.match(err.message, /PUBLIC_URL/);
      return true;
    },
  );
  assert.throws(() => loadFileserverConfig({ UPLOAD_TOKEN: 'x', PUBLIC_URL: 'not a url' }), /PUBLIC_URL/);
});

// ---------- HTTP ----------

interface Harness {
  base: string;
  port: number;
  root: string;
  uploadDir: string;
  tmpDir: string;
  imagesDir: string;
}

async function startFileserver(t: TestContext, env: Record<string, string> = {}): Promise<Harness> {
  const root = await mkdtemp(join(tmpdir(), 'fileserver-test-'));
  // nested, so a `../../x` escape would still land inside root where the test can see it
  const uploadDir = join(root, 'a', 'b', 'uploads');
  const imagesDir = join(root, 'images');
  await mkdir(imagesDir, { recursive: true });
  const config = loadFileserverConfig({
    UPLOAD_DIR: uploadDir,
    IMAGES_DIR: imagesDir,
    UPLOAD_TOKEN: TOKEN,
    PORT: '0',
    ...env,
  });
  const app = createFileserverApp(config, silentLogger);
  const server: Server = await new Promise((resolve, reject) => {
    const s = app.listen(0, '127.0.0.1', (err?: Error) => (err ? reject(err) : resolve(s)));
  });
  t.after(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    await rm(root, { recursive: true, force: true });
  });
  const address = server.address();
  assert.ok(address !== null && typeof address === 'object');
  return {
    base: `http://127.0.0.1:${address.port}`,
    port: address.port,
    root,
    uploadDir,
    tmpDir: join(uploadDir, '.tmp'),
    imagesDir,
  };
}

interface UploadOptions {
  bytes?: Uint8Array;
  filename?: string;
  type?: string;
  name?: string;
  authorization?: string | null;
  field?: string;
}

interface Reply {
  status: number;
  headers: Headers;
  json: Record<string, unknown>;
}

async function upload(h: Harness, options: UploadOptions = {}): Promise<Reply> {
  const form = new FormData();
  if (options.name !== undefined) form.append('name', options.name);
  if (options.bytes !== undefined) {
    const blob = new Blob([new Uint8Array(options.bytes)], { type: options.type ?? 'application/octet-stream' });
    form.append(options.field ?? 'image', blob, options.filename ?? 'upload.bin');
  }
  const authorization = options.authorization === undefined ? `Bearer ${TOKEN}` : options.authorization;
  const headers: Record<string, string> = authorization === null ? {} : { authorization };
  const res = await fetch(`${h.base}/upload`, { method: 'POST', body: form, headers });
  return { status: res.status, headers: res.headers, json: (await res.json()) as Record<string, unknown> };
}

function errorCode(reply: Reply): unknown {
  return (reply.json.error as { code?: unknown } | undefined)?.code;
}

function errorMessage(reply: Reply): string {
  return String((reply.json.error as { message?: unknown } | undefined)?.message);
}

/** Every file under dir, as paths relative to dir (directories themselves are not listed). */
async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)))
    .sort();
}

/** The upload dir holds exactly these names and .tmp holds nothing. */
async function assertUploads(h: Harness, expected: string[]): Promise<void> {
  assert.deepEqual(await listFiles(h.uploadDir), [...expected].sort());
  assert.deepEqual(await readdir(h.tmpDir), []);
}

/** A GET with the path sent verbatim (fetch would normalise `..` away). */
function rawGet(h: Harness, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: h.port, path, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    req.end();
  });
}

async function waitFor(check: () => Promise<boolean>, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

test('GET /healthz answers ok', async (t) => {
  const h = await startFileserver(t);
  const res = await fetch(`${h.base}/healthz`);
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), { ok: true });
});

test('uploads without a valid bearer token get 401 and write nothing', async (t) => {
  const h = await startFileserver(t);
  const bytes = await solidImage('png');
  const attempts: Array<[string, string | null]> = [
    ['missing header', null],
    ['wrong token, same length', `Bearer ${TOKEN.replace(/.$/, 'X')}`],
    ['wrong token, other length', 'Bearer nope'],
    ['empty bearer', 'Bearer '],
    ['basic scheme with the right secret', `Basic ${TOKEN}`],
    ['token with a prefix', `Bearer x${TOKEN}`],
  ];
  for (const [label, authorization] of attempts) {
    const reply = await upload(h, { bytes, filename: 'a.png', type: 'image/png', authorization });
    assert.equal(reply.status, 401, label);
    assert.equal(errorCode(reply), 'UNAUTHORIZED', label);
    assert.match(reply.headers.get('www-authenticate') ?? '', /^Bearer\b/, label);
  }
  await assertUploads(h, []);
  // the scheme is case-insensitive, the token is not
  assert.equal((await upload(h, { bytes, name: 'ok', authorization: `bearer ${TOKEN}` })).status, 201);
  assert.equal((await upload(h, { bytes, name: 'ok', authorization: `Bearer ${TOKEN.toUpperCase()}` })).status, 401);
});

test('a PNG and a JPEG land under their names with identical bytes', async (t) => {
  const h = await startFileserver(t);
  const png = await solidImage('png', '#00ff00');
  const jpeg = await solidImage('jpeg', '#0000ff');

  const first = await upload(h, { bytes: png, filename: 'ignored.png', type: 'image/png', name: 'green' });
  assert.equal(first.status, 201);
  assert.deepEqual(first.json, { name: 'green.png', url: `${h.base}/files/green.png`, bytes: png.length, format: 'png' });
  assert.equal(first.headers.get('location'), `${h.base}/files/green.png`);

  // no name field: the original file name is used, with the extension of the real bytes
  const second = await upload(h, { bytes: jpeg, filename: 'holiday.jpeg', type: 'image/jpeg' });
  assert.equal(second.status, 201);
  assert.equal(second.json.name, 'holiday.jpg');
  assert.equal(second.json.format, 'jpeg');
  assert.equal(second.json.bytes, jpeg.length);

  assert.deepEqual(await readFile(join(h.uploadDir, 'green.png')), png);
  assert.deepEqual(await readFile(join(h.uploadDir, 'holiday.jpg')), jpeg);
  await assertUploads(h, ['green.png', 'holiday.jpg']);
});

test('the extension follows the bytes, not the declared name or mimetype', async (t) => {
  const h = await startFileserver(t);
  const webp = await solidImage('webp');
  const reply = await upload(h, { bytes: webp, filename: 'fake.png', type: 'image/png', name: 'shot.png' });
  assert.equal(reply.status, 201);
  assert.equal(reply.json.name, 'shot.webp');
  assert.equal(reply.json.format, 'webp');
  await assertUploads(h, ['shot.webp']);
});

test('an upload without a usable name is named after its content hash', async (t) => {
  const h = await startFileserver(t);
  const png = await solidImage('png');
  const reply = await upload(h, { bytes: png, filename: '...', name: '../' });
  assert.equal(reply.status, 201);
  const { createHash } = await import('node:crypto');
  const prefix = createHash('sha256').update(png).digest('hex').slice(0, 16);
  assert.equal(reply.json.name, `${prefix}.png`);
  await assertUploads(h, [`${prefix}.png`]);
});

test('hostile names land inside the upload dir with sanitised names', async (t) => {
  const h = await startFileserver(t);
  const png = await solidImage('png');
  await writeFile(join(h.root, 'a', 'passwd.png'), 'decoy');
  const cases: Array<[string, string]> = [
    ['../../evil', 'evil.png'],
    ['..\\evil2', 'evil2.png'],
    ['/etc/passwd', 'passwd.png'],
    ['.tmp', 'tmp.png'],
    ['sub/dir/../x y', 'x-y.png'],
  ];
  for (const [name, expected] of cases) {
    const reply = await upload(h, { bytes: png, name });
    assert.equal(reply.status, 201, name);
    assert.equal(reply.json.name, expected, name);
  }
  await assertUploads(h, cases.map(([, expected]) => expected));
  // nothing escaped: every file under root is in the upload dir, except the decoy we wrote
  const outside = (await listFiles(h.root)).filter((p) => !p.startsWith(relative(h.root, h.uploadDir) + sep));
  assert.deepEqual(outside, [join('a', 'passwd.png')]);
  assert.equal(await readFile(join(h.root, 'a', 'passwd.png'), 'utf8'), 'decoy');
});

test('text declared as image/png is rejected with NOT_AN_IMAGE and leaves nothing behind', async (t) => {
  const h = await startFileserver(t);
  const reply = await upload(h, {
    bytes: Buffer.from('hello, this is not a picture at all'),
    filename: 'cat.png',
    type: 'image/png',
    name: 'cat',
  });
  assert.equal(reply.status, 400);
  assert.equal(errorCode(reply), 'NOT_AN_IMAGE');
  assert.match(errorMessage(reply), /text "hello, this is n/);
  await assertUploads(h, []);

  // a large non-image is cut off after the sniffed head, and still cleaned up
  const zeros = await upload(h, { bytes: new Uint8Array(2 * 1024 * 1024), filename: 'z.png', type: 'image/png' });
  assert.equal(zeros.status, 400);
  assert.equal(errorCode(zeros), 'NOT_AN_IMAGE');
  assert.match(errorMessage(zeros), /00 00 00 00/);

  const empty = await upload(h, { bytes: new Uint8Array(0), filename: 'e.png', type: 'image/png' });
  assert.equal(empty.status, 400);
  assert.equal(errorCode(empty), 'NOT_AN_IMAGE');
  assert.match(errorMessage(empty), /empty/);
  await assertUploads(h, []);
});

test('a body over MAX_UPLOAD_BYTES gets 413 and leaves nothing; exactly the limit is accepted', async (t) => {
  const limit = 64 * 1024;
  const h = await startFileserver(t, { MAX_UPLOAD_BYTES: String(limit) });
  const png = await solidImage('png');
  // trailing bytes after IEND do not matter to the sniffer; they make the size exact
  const atLimit = Buffer.concat([png, randomBytes(limit - png.length)]);
  const overLimit = Buffer.concat([png, randomBytes(limit + 1 - png.length)]);
  const huge = Buffer.concat([png, randomBytes(4 * limit)]);

  for (const [label, bytes] of [['one byte over', overLimit], ['four times over', huge]] as const) {
    const reply = await upload(h, { bytes, name: 'big' });
    assert.equal(reply.status, 413, label);
    assert.equal(errorCode(reply), 'LIMIT_FILE_SIZE', label);
    await assertUploads(h, []);
  }

  const ok = await upload(h, { bytes: atLimit, name: 'big' });
  assert.equal(ok.status, 201);
  assert.equal(ok.json.bytes, limit);
  assert.deepEqual(await readFile(join(h.uploadDir, 'big.png')), atLimit);
});

test('uploading twice under one name replaces the file', async (t) => {
  const h = await startFileserver(t);
  const red = await solidImage('png', '#ff0000');
  const blue = await solidImage('png', '#0000ff');
  assert.notDeepEqual(red, blue);
  assert.equal((await upload(h, { bytes: red, name: 'task-42' })).status, 201);
  assert.equal((await upload(h, { bytes: blue, name: 'task-42.png' })).status, 201);
  await assertUploads(h, ['task-42.png']);
  assert.deepEqual(await readFile(join(h.uploadDir, 'task-42.png')), blue);
});

test('malformed or incomplete requests get 400 and the server keeps running', async (t) => {
  const h = await startFileserver(t);
  const png = await solidImage('png');

  const noFile = await upload(h, { name: 'x' });
  assert.equal(noFile.status, 400);
  assert.equal(errorCode(noFile), 'MISSING_FILE');

  const notMultipart = await fetch(`${h.base}/upload`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    body: '{"image":"x"}',
  });
  assert.equal(notMultipart.status, 400);
  assert.equal(((await notMultipart.json()) as { error: { code: string } }).error.code, 'MISSING_FILE');

  const wrongField = await upload(h, { bytes: png, field: 'picture' });
  assert.equal(wrongField.status, 400);
  assert.equal(errorCode(wrongField), 'LIMIT_UNEXPECTED_FILE');

  const twoFiles = new FormData();
  twoFiles.append('image', new Blob([new Uint8Array(png)]), 'a.png');
  twoFiles.append('image', new Blob([new Uint8Array(png)]), 'b.png');
  const two = await fetch(`${h.base}/upload`, { method: 'POST', body: twoFiles, headers: { authorization: `Bearer ${TOKEN}` } });
  assert.equal(two.status, 400);
  assert.equal(((await two.json()) as { error: { code: string } }).error.code, 'LIMIT_FILE_COUNT');

  const twoNames = new FormData();
  twoNames.append('name', 'a');
  twoNames.append('name', 'b');
  twoNames.append('image', new Blob([new Uint8Array(png)]), 'a.png');
  const names = await fetch(`${h.base}/upload`, { method: 'POST', body: twoNames, headers: { authorization: `Bearer ${TOKEN}` } });
  assert.equal(names.status, 400);
  assert.equal(((await names.json()) as { error: { code: string } }).error.code, 'INVALID_NAME');

  // the body ends in the middle of the file part
  const boundary = 'XyZboundary';
  const truncated = Buffer.concat([
    Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="image"; filename="a.png"\r\n\r\n`),
    png,
  ]);
  const cut = await fetch(`${h.base}/upload`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': `multipart/form-data; boundary=${boundary}` },
    body: truncated,
  });
  assert.equal(cut.status, 400);
  assert.equal(((await cut.json()) as { error: { code: string } }).error.code, 'BAD_MULTIPART');

  await assertUploads(h, []);
  assert.equal((await fetch(`${h.base}/healthz`)).status, 200);
});

test('a client that disconnects mid-upload leaves no file behind', async (t) => {
  const h = await startFileserver(t);
  const png = await solidImage('png');
  const boundary = 'AbortBoundary';
  const head = Buffer.from(
    `--${boundary}\r\nContent-Disposition: form-data; name="image"; filename="a.png"\r\nContent-Type: image/png\r\n\r\n`,
  );
  const firstPart = Buffer.concat([head, png, randomBytes(256 * 1024)]);
  const req = request({
    host: '127.0.0.1',
    port: h.port,
    method: 'POST',
    path: '/upload',
    agent: false,
    headers: {
      authorization: `Bearer ${TOKEN}`,
      'content-type': `multipart/form-data; boundary=${boundary}`,
      'content-length': String(firstPart.length + 1024 * 1024),
    },
  });
  req.on('error', () => undefined);
  req.write(firstPart);
  await waitFor(async () => (await readdir(h.tmpDir)).length === 1, 'the temp file to appear');
  req.destroy();
  await waitFor(async () => (await readdir(h.tmpDir)).length === 0, 'the temp file to be removed');
  await assertUploads(h, []);
  assert.equal((await fetch(`${h.base}/healthz`)).status, 200);
});

test('GET /files/<name> returns the uploaded bytes', async (t) => {
  const h = await startFileserver(t);
  const png = await solidImage('png', '#123456');
  const reply = await upload(h, { bytes: png, name: 'served' });
  assert.equal(reply.status, 201);
  const res = await fetch(String(reply.json.url));
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('content-type'), 'image/png');
  assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
  assert.deepEqual(Buffer.from(await res.arrayBuffer()), png);

  const missing = await fetch(`${h.base}/files/nope.png`);
  assert.equal(missing.status, 404);
  assert.equal(((await missing.json()) as { error: { code: string } }).error.code, 'NOT_FOUND');
});

test('traversal, dotfiles and the temp dir are never served', async (t) => {
  const h = await startFileserver(t);
  const secret = 'TOP-SECRET-CONTENT';
  await writeFile(join(h.root, 'secret.txt'), secret);
  await writeFile(join(h.root, 'a', 'b', 'secret.txt'), secret);
  await writeFile(join(h.uploadDir, '.hidden'), secret);
  await writeFile(join(h.tmpDir, 'partial.part'), secret);
  await writeFile(join(h.uploadDir, 'visible.txt'), 'visible');

  const paths = [
    '/files/..%2fsecret.txt',
    '/files/..%2f..%2f..%2fsecret.txt',
    '/files/%2e%2e%2fsecret.txt',
    '/files/..%5csecret.txt',
    '/files/../secret.txt',
    '/files/../../secret.txt',
    '/files/..',
    '/files/%2e%2e',
    '/files/.hidden',
    '/files/.tmp',
    '/files/.tmp/partial.part',
    '/files/.tmp%2fpartial.part',
    '/files/%2etmp%2fpartial.part',
    '/images/..%2fa%2fb%2fsecret.txt',
    '/images/..%2f..%2fsecret.txt',
    '/files/%E0%A4%A',
  ];
  for (const path of paths) {
    const res = await rawGet(h, path);
    assert.ok(res.status === 404 || res.status === 400, `${path} -> ${res.status}`);
    assert.ok(!res.body.includes(secret), `${path} leaked the secret`);
  }
  // the control: a plain name in the same directory is served
  const visible = await rawGet(h, '/files/visible.txt');
  assert.equal(visible.status, 200);
  assert.equal(visible.body, 'visible');
});

test('GET /images/<name> serves source images from IMAGES_DIR', async (t) => {
  const h = await startFileserver(t);
  const jpeg = await solidImage('jpeg', '#abcdef');
  await writeFile(join(h.imagesDir, 'source.jpg'), jpeg);
  const res = await fetch(`${h.base}/images/source.jpg`);
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('content-type'), 'image/jpeg');
  assert.deepEqual(Buffer.from(await res.arrayBuffer()), jpeg);
  // uploads are not reachable through /images, nor images through /files
  assert.equal((await fetch(`${h.base}/files/source.jpg`)).status, 404);
  assert.equal((await fetch(`${h.base}/images/missing.jpg`)).status, 404);
});

test('PUBLIC_URL is the base of returned file URLs', async (t) => {
  const h = await startFileserver(t, { PUBLIC_URL: 'https://cdn.example.com/pipeline/' });
  const reply = await upload(h, { bytes: await solidImage('gif'), name: 'anim' });
  assert.equal(reply.status, 201);
  assert.equal(reply.json.url, 'https://cdn.example.com/pipeline/files/anim.gif');
});

test('stale temp files from a crash are removed at start, fresh ones are kept', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'fileserver-stale-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  const tmpDir = join(root, 'uploads', '.tmp');
  await mkdir(tmpDir, { recursive: true });
  const { utimes } = await import('node:fs/promises');
  await writeFile(join(tmpDir, 'old.part'), 'x');
  const twoHoursAgo = new Date(Date.now() - 2 * 60 * 60 * 1000);
  await utimes(join(tmpDir, 'old.part'), twoHoursAgo, twoHoursAgo);
  await writeFile(join(tmpDir, 'fresh.part'), 'x');
  createFileserverApp(
    loadFileserverConfig({ UPLOAD_DIR: join(root, 'uploads'), IMAGES_DIR: root, UPLOAD_TOKEN: TOKEN }),
    silentLogger,
  );
  await waitFor(async () => !(await readdir(tmpDir)).includes('old.part'), 'the stale file to go');
  assert.deepEqual(await readdir(tmpDir), ['fresh.part']);
});
