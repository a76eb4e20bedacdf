import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_URL_LENGTH, parseUrlList, type DuplicateLine, type UrlEntry } from '../client/parse-url-list.js';

const BASE = 'http://127.0.0.1:8080/images/';

/** What a case expects; a list left out is not checked. Reasons are matched loosely. */
interface Want {
  entries?: UrlEntry[];
  invalid?: { line: number; text: string; reason: RegExp }[];
  duplicates?: DuplicateLine[];
}

interface Case {
  name: string;
  text: string;
  base?: string;
  want: Want;
}

const ok = (line: number, url: string): UrlEntry => ({ line, url });
const bad = (line: number, text: string, reason: RegExp) => ({ line, text, reason });

const cases: Case[] = [
  { name: 'empty text', text: '', want: { entries: [], invalid: [], duplicates: [] } },
  {
    name: 'blank lines and whole-line comments are skipped, line numbers still count them',
    text: '\n# heading\n   \n\t# indented comment\nhttp://example.com/a.png\n',
    want: { entries: [ok(5, 'http://example.com/a.png')], invalid: [], duplicates: [] },
  },
  {
    name: 'trailing comment after whitespace is dropped',
    text: 'http://example.com/a.png # the cat\nhttp://example.com/b.png\t#tabbed',
    want: { entries: [ok(1, 'http://example.com/a.png'), ok(2, 'http://example.com/b.png')], invalid: [] },
  },
  {
    name: 'a # without whitespace before it is a fragment, not a comment, and is dropped',
    text: 'http://example.com/a.png#frag',
    want: { entries: [ok(1, 'http://example.com/a.png')], invalid: [] },
  },
  {
    name: 'surrounding whitespace is trimmed',
    text: '   https://example.com/a.png   \t',
    want: { entries: [ok(1, 'https://example.com/a.png')], invalid: [] },
  },
  {
    name: 'relative lines resolve against the base',
    text: 'cat.png\nsub/dog.jpg\n/elsewhere/x.gif\n../up.png\n//cdn.example.com/y.webp',
    want: {
      entries: [
        ok(1, 'http://127.0.0.1:8080/images/cat.png'),
        ok(2, 'http://127.0.0.1:8080/images/sub/dog.jpg'),
        ok(3, 'http://127.0.0.1:8080/elsewhere/x.gif'),
        ok(4, 'http://127.0.0.1:8080/up.png'),
        ok(5, 'http://cdn.example.com/y.webp'),
      ],
      invalid: [],
    },
  },
  {
    name: 'a base without a trailing slash still keeps its last segment',
    base: 'http://fileserver:8080/images',
    text: 'cat.png',
    want: { entries: [ok(1, 'http://fileserver:8080/images/cat.png')] },
  },
  {
    name: 'absolute URLs are normalized (host case, default port, dot segments)',
    text: 'HTTP://Example.COM:80/a/./b/../c.png?x=1',
    want: { entries: [ok(1, 'http://example.com/a/c.png?x=1')], invalid: [] },
  },
  {
    name: 'invalid lines are reported with their line numbers and the rest is kept',
    text: [
      'ftp://example.com/a.png',
      'http://example.com/ok.png',
      'mailto:someone@example.com',
      'http://user:secret@example.com/a.png',
      'http://example.com/a b.png',
      'http://exa mple.com/a.png extra',
      'http://[::1/a.png',
      'data:image/png;base64,AAAA',
      'C:\\images\\cat.png',
    ].join('\n'),
    want: {
      entries: [ok(2, 'http://example.com/ok.png')],
      invalid: [
        bad(1, 'ftp://example.com/a.png', /unsupported scheme "ftp"/),
        bad(3, 'mailto:someone@example.com', /unsupported scheme "mailto"/),
        bad(4, 'http://user:secret@example.com/a.png', /credentials/),
        bad(5, 'http://example.com/a b.png', /whitespace/),
        bad(6, 'http://exa mple.com/a.png extra', /whitespace/),
        bad(7, 'http://[::1/a.png', /not a valid URL/),
        bad(8, 'data:image/png;base64,AAAA', /unsupported scheme "data"/),
        bad(9, 'C:\\images\\cat.png', /unsupported scheme "c"/),
      ],
    },
  },
  {
    name: 'a user name alone counts as credentials',
    text: 'https://user@example.com/a.png',
    want: { entries: [], invalid: [bad(1, 'https://user@example.com/a.png', /credentials/)] },
  },
  {
    name: 'control characters are invalid',
    text: 'http://example.com/a\u0000.png\nhttp://example.com/\u001b[31m.png\nhttp://example.com/\u0085.png',
    want: {
      entries: [],
      invalid: [
        bad(1, 'http://example.com/a\u0000.png', /control characters/),
        bad(2, 'http://example.com/\u001b[31m.png', /control characters/),
        bad(3, 'http://example.com/\u0085.png', /control characters/),
      ],
    },
  },
  {
    name: 'absurdly long lines are invalid, a line at the limit is fine',
    text: [`http://example.com/${'a'.repeat(MAX_URL_LENGTH)}`, `http://example.com/${'b'.repeat(MAX_URL_LENGTH - 19)}`].join('\n'),
    want: {
      entries: [ok(2, `http://example.com/${'b'.repeat(MAX_URL_LENGTH - 19)}`)],
      invalid: [bad(1, `http://example.com/${'a'.repeat(MAX_URL_LENGTH)}`, /longer than 2048/)],
    },
  },
  {
    name: 'duplicates are reported with the first line and enqueued once',
    text: 'http://example.com/a.png\nhttp://example.com/b.png\nhttp://example.com/a.png\nhttp://example.com/a.png',
    want: {
      entries: [ok(1, 'http://example.com/a.png'), ok(2, 'http://example.com/b.png')],
      duplicates: [
        { line: 3, url: 'http://example.com/a.png', firstLine: 1 },
        { line: 4, url: 'http://example.com/a.png', firstLine: 1 },
      ],
    },
  },
  {
    name: 'a relative line and the absolute URL it resolves to are duplicates',
    text: 'cat.png\nhttp://127.0.0.1:8080/images/cat.png\nhttp://127.0.0.1:8080/images/./cat.png#top',
    want: {
      entries: [ok(1, 'http://127.0.0.1:8080/images/cat.png')],
      duplicates: [
        { line: 2, url: 'http://127.0.0.1:8080/images/cat.png', firstLine: 1 },
        { line: 3, url: 'http://127.0.0.1:8080/images/cat.png', firstLine: 1 },
      ],
    },
  },
  {
    name: 'different query strings are different images',
    text: 'http://example.com/a.png?w=1\nhttp://example.com/a.png?w=2',
    want: { entries: [ok(1, 'http://example.com/a.png?w=1'), ok(2, 'http://example.com/a.png?w=2')], duplicates: [] },
  },
  {
    name: 'CRLF line endings',
    text: '# list\r\nhttp://example.com/a.png\r\n\r\ncat.png # local\r\nftp://x/y\r\n',
    want: {
      entries: [ok(2, 'http://example.com/a.png'), ok(4, 'http://127.0.0.1:8080/images/cat.png')],
      invalid: [bad(5, 'ftp://x/y', /unsupported scheme/)],
    },
  },
  {
    name: 'a byte order mark does not end up in the first URL',
    text: '\uFEFFhttp://example.com/a.png\r\n',
    want: { entries: [ok(1, 'http://example.com/a.png')], invalid: [] },
  },
  {
    name: 'a byte order mark before a comment keeps it a comment',
    text: '\uFEFF# images\nhttp://example.com/a.png',
    want: { entries: [ok(2, 'http://example.com/a.png')], invalid: [] },
  },
  {
    name: 'non-ASCII hosts and paths are encoded',
    text: 'http://bücher.example/katze ü.png\nhttp://bücher.example/katze%20ü.png',
    want: {
      entries: [ok(2, 'http://xn--bcher-kva.example/katze%20%C3%BC.png')],
      invalid: [bad(1, 'http://bücher.example/katze ü.png', /whitespace/)],
    },
  },
];

for (const c of cases) {
  test(`parseUrlList: ${c.name}`, () => {
    const got = parseUrlList(c.text, c.base ?? BASE);
    if (c.want.entries) assert.deepEqual(got.entries, c.want.entries);
    if (c.want.duplicates) assert.deepEqual(got.duplicates, c.want.duplicates);
    if (c.want.invalid) {
      assert.equal(got.invalid.length, c.want.invalid.length, `invalid: ${JSON.stringify(got.invalid)}`);
      c.want.invalid.forEach((want, i) => {
        const actual = got.invalid[i];
        assert.ok(actual, `missing invalid[${i}]`);
        assert.equal(actual.line, want.line);
        assert.equal(actual.text, want.text);
        assert.match(actual.reason, want.reason);
      });
    }
  });
}

test('parseUrlList: every kept line is counted exactly once', () => {
  const text = 'a.png\n\n# c\nftp://x\na.png\nb.png # c\n';
  const got = parseUrlList(text, BASE);
  const lines = [...got.entries, ...got.invalid, ...got.duplicates].map((x) => x.line).sort();
  assert.deepEqual(lines, [1, 4, 5, 6]);
});

test('parseUrlList: an invalid base URL is a programming error', () => {
  assert.throws(() => parseUrlList('a.png', 'not a url'), TypeError);
});

test('parseUrlList: bytes give what their UTF-8 text gives, for every case above', () => {
  for (const c of [...cases, { name: 'BOM and CRLF', text: '\uFEFFa.png\r\nb.png\rc.png\n\nd.png', want: {} }]) {
    assert.deepEqual(parseUrlList(Buffer.from(c.text, 'utf8'), c.base ?? BASE), parseUrlList(c.text, c.base ?? BASE), c.name);
  }
});

test('parseUrlList: a line that is not UTF-8 is invalid with its line number, never a U+FFFD URL', () => {
  const bytes = Buffer.concat([
    Buffer.from('a.png\r\n'),
    Buffer.from([0x63, 0xe9, 0x2e, 0x70, 0x6e, 0x67, 0x0a]), // "cé.png" in Latin-1
    Buffer.from('caf\u00e9.png\n'), // the same name in UTF-8 is fine
    Buffer.from([0x78, 0xf0, 0x9f, 0x0d]), // a truncated 4-byte sequence, then CR
    Buffer.from('b.png'),
  ]);
  const got = parseUrlList(bytes, BASE);
  assert.deepEqual(got.entries, [ok(1, `${BASE}a.png`), ok(3, `${BASE}caf%C3%A9.png`), ok(5, `${BASE}b.png`)]);
  assert.deepEqual(got.invalid.map(({ line, reason }) => ({ line, reason })), [{ line: 2, reason: 'not valid UTF-8' }, { line: 4, reason: 'not valid UTF-8' }]);
  assert.ok(got.entries.every((e) => !e.url.includes('%EF%BF%BD')));
});
