#!/usr/bin/env node
/**
 * `npm run build`: a clean build into dist/ (tsc plus the .proto the codec loads at run time),
 * then a stamp recording when it started, so the `offer-invert` launcher can tell with a few
 * stat calls whether any source changed since (see stale-build.js).
 * Plain ESM JavaScript: it has to run before anything is compiled (`npm ci` runs it via `prepare`).
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { STAMP_FILE } from './stale-build.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** Builds the project at `root`; returns tsc's exit code (0 = built). */
export function build(root = ROOT, { quiet = false } = {}) {
  // Taken before tsc reads anything: a file saved during the build is newer and triggers the next one.
  const startedMs = Date.now();
  rmSync(join(root, 'dist'), { recursive: true, force: true });
  const tsc = createRequire(join(root, 'package.json')).resolve('typescript/bin/tsc');
  const result = spawnSync(process.execPath, [tsc, '-p', root], { cwd: root, stdio: quiet ? ['ignore', 'pipe', 'pipe'] : 'inherit' });
  if (result.status !== 0) {
    if (quiet) process.stderr.write(`${result.stdout ?? ''}${result.stderr ?? ''}`);
    return result.status ?? 1;
  }
  copyFileSync(join(root, 'protocol/messages.proto'), join(root, 'dist/protocol/messages.proto'));
  writeFileSync(join(root, STAMP_FILE), `${startedMs}\n`);
  return 0;
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  process.exitCode = build();
}
