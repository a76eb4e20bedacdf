/**
 * docs/configuration.md against the code: every setting a config loader reads has a row, every
 * row is a setting the code reads, and each default the code gives is the one the row shows.
 * Unit: runs the loaders on an empty env, no I/O beyond reading the page.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { settingsReadByCode } from './helpers/settings.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const PAGE = readFileSync(join(ROOT, 'docs/configuration.md'), 'utf8');

/** Defaults worked out at start (machine, hostname, other settings): the page says how, not a value. */
const COMPUTED = new Set(['EXECUTOR_ID', 'EXECUTOR_CPUS', 'EXECUTOR_MEM_MB', 'SCHEDULER_ID', 'ALLOWED_SOURCE_HOSTS', 'IMAGES_BASE_URL']);

/** Each row: its variable names (a row may name two, `A` / `B`) and its default cell. */
function rows(): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of PAGE.matchAll(/^\| `([A-Z][A-Z0-9_]+)`(?: \/ `([A-Z][A-Z0-9_]+)`)? \| ([^|]*) \|/gm)) {
    for (const name of [m[1]!, m[2]]) if (name) out.set(name, m[3]!);
  }
  return out;
}

test('every setting the code reads has a row, and every row is read by the code', () => {
  const code = settingsReadByCode();
  const documented = rows();
  assert.ok(code.size > 50, `the loaders were heard (${code.size} settings)`);
  assert.deepEqual([...code.keys()].filter((k) => !documented.has(k)).sort(), [], 'read by the code but not in docs/configuration.md');
  assert.deepEqual([...documented.keys()].filter((k) => !code.has(k)).sort(), [], 'in docs/configuration.md but read by no loader');
});

test('each default in docs/configuration.md is the one the code gives', async (t) => {
  const documented = rows();
  for (const [name, read] of settingsReadByCode()) {
    if (COMPUTED.has(name)) continue;
    for (const fallback of read.fallbacks) {
      await t.test(`${name} = ${JSON.stringify(fallback)}`, () => {
        const cell = documented.get(name) ?? '';
        assert.ok(cell.includes(`\`${String(fallback)}\``), `${name}: the code defaults to ${String(fallback)} (${[...read.readers].join(', ')}), the page says ${cell}`);
      });
    }
  }
});
