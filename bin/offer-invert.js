#!/usr/bin/env node
/**
 * `offer-invert <command> [args]`: one entry for every command-line tool. It rebuilds dist/ only
 * when a source is newer than the last build (stale-build.js), then runs the command's compiled
 * module in this process. `--help` anywhere is answered by the command itself, which prints and
 * exits without starting anything or touching Redis.
 * Exit codes: the command's own; 2 for an unknown command or a failed build.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { staleReason } from './stale-build.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** name -> compiled module and one line for the overview; a new command is one line here. */
const COMMANDS = {
  start: { module: 'dist/cli/start.js', summary: 'run the pipeline (fileserver, scheduler, executors) until Ctrl-C' },
  enqueue: { module: 'dist/cli/enqueue.js', summary: 'add the image URLs of a file to the queue (once per URL unless --again)' },
  batch: { module: 'dist/cli/batch.js', summary: 'one shot: start the pipeline, invert a list, write a manifest, stop' },
  status: { module: 'dist/cli/status.js', summary: 'queue counts, executors, running tasks and recent failures' },
  service: { module: 'dist/cli/service.js', summary: 'start, list, scale or stop long-running services' },
  cancel: { module: 'dist/cli/cancel.js', summary: 'cancel jobs by id, or every unfinished job with --all' },
  dashboard: { module: 'dist/dashboard/main.js', summary: 'web view of the cluster and the queue (bull-board), default http://127.0.0.1:8081/' },
  'retry-failed': { module: 'dist/cli/retry-failed.js', summary: 'put the jobs that failed for good back in the queue' },
};

function overview() {
  const width = Math.max(...Object.keys(COMMANDS).map((name) => name.length));
  return [
    'usage: offer-invert <command> [args]      (from a checkout: npm run <command> -- [args])',
    '',
    'commands:',
    ...Object.entries(COMMANDS).map(([name, { summary }]) => `  ${name.padEnd(width)}  ${summary}`),
    '',
    "`offer-invert <command> --help` describes a command's arguments and settings.",
  ].join('\n');
}

/** Builds when a source is newer than dist/; false when the build failed (its errors are printed). */
async function ensureBuilt() {
  if (staleReason(ROOT) === undefined) return true;
  // Two commands started together after an edit must not both wipe and rebuild dist/.
  const lock = join(tmpdir(), `offer-invert-build-${createHash('sha256').update(ROOT).digest('hex').slice(0, 16)}.lock`);
  const release = await takeLock(lock);
  try {
    const reason = staleReason(ROOT); // another command may have built it meanwhile
    if (reason === undefined) return true;
    process.stderr.write(`offer-invert: building (${reason})...\n`);
    const { build } = await import('./build.js');
    return build(ROOT, { quiet: true }) === 0;
  } finally {
    release();
  }
}

const LOCK_STALE_MS = 5 * 60_000;

/** mkdir is atomic: whoever creates the directory builds; the others wait for it to go. */
async function takeLock(path) {
  for (;;) {
    try {
      mkdirSync(path);
      return () => rmSync(path, { recursive: true, force: true });
    } catch (err) {
      if (err.code !== 'EEXIST') throw err;
      // A build that died without removing its lock must not block every command forever.
      const ageMs = Date.now() - (statSync(path, { throwIfNoEntry: false })?.mtimeMs ?? Date.now());
      if (ageMs > LOCK_STALE_MS) rmSync(path, { recursive: true, force: true });
      else await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
}

async function main(argv) {
  const [first, ...rest] = argv;
  if (first === undefined) {
    console.error(overview());
    return 2;
  }
  if (first === '--help' || first === '-h' || (first === 'help' && rest.length === 0)) {
    console.log(overview());
    return 0;
  }
  if (first === '--ensure-built') {
    // For npm scripts that run a compiled file directly (bench, scheduler, executor, fileserver).
    return (await ensureBuilt()) ? 0 : 2;
  }
  // `offer-invert help enqueue` is `offer-invert enqueue --help`.
  const [name, args] = first === 'help' ? [rest[0], ['--help']] : [first, rest];
  const command = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (command === undefined) {
    console.error(`offer-invert: unknown command "${name}" (commands: ${Object.keys(COMMANDS).join(', ')}; see offer-invert --help)`);
    return 2;
  }
  if (!(await ensureBuilt())) {
    console.error('offer-invert: the build failed (errors above); fix them and run the command again');
    return 2;
  }
  const file = join(ROOT, command.module);
  if (!existsSync(file)) {
    console.error(`offer-invert: "${name}" is not part of this build (${command.module} is missing)`);
    return 2;
  }
  // The command reads its arguments from process.argv like any entry file.
  process.argv = [process.argv[0] ?? process.execPath, file, ...args];
  await import(pathToFileURL(file).href);
  return undefined;
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code !== undefined) process.exitCode = code;
  },
  (err) => {
    console.error(`offer-invert: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
  },
);
