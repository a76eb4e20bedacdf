/**
 * docker-compose.yml and the Dockerfile, checked by parsing (no Docker engine needed): the
 * mistakes that only show up at `docker compose up`, or worse, after a Redis eviction.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseDocument } from 'yaml';
import { settingsReadByCode } from './helpers/settings.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const COMPOSE_TEXT = readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8');
const ENV_EXAMPLE = readFileSync(join(ROOT, '.env.example'), 'utf8');
// The compose recipes are documented in docs/deployment.md (the README links there).
const DEPLOYMENT = readFileSync(join(ROOT, 'docs/deployment.md'), 'utf8');
const SERVICES = ['redis', 'fileserver', 'scheduler', 'executor', 'dashboard'] as const;

/** The settings the code reads (every config loader, heard by test/helpers/settings.ts): compose may use no others. */
const KNOWN_ENV = new Set(settingsReadByCode().keys());

// ---- small readers that turn the parsed YAML (unknown) into checked shapes ----

type Dict = Record<string, unknown>;

function dict(value: unknown, where: string): Dict {
  assert.ok(value !== null && typeof value === 'object' && !Array.isArray(value), `${where} should be a mapping`);
  return value as Dict;
}

function words(value: unknown, where: string): string[] {
  if (typeof value === 'string') return value.trim().split(/\s+/);
  assert.ok(Array.isArray(value) && value.every((v) => typeof v === 'string'), `${where} should be a string or list of strings`);
  return value as string[];
}

/** Compose accepts `environment` as a mapping or as a `KEY=value` list; null means pass-through. */
function environment(service: Dict, where: string): Map<string, string | null> {
  const env = new Map<string, string | null>();
  const raw = service.environment;
  if (raw === undefined) return env;
  if (Array.isArray(raw)) {
    for (const item of raw) {
      const [key = '', ...rest] = String(item).split('=');
      env.set(key, rest.length > 0 ? rest.join('=') : null);
    }
    return env;
  }
  for (const [key, value] of Object.entries(dict(raw, `${where}.environment`))) {
    env.set(key, value === null ? null : String(value));
  }
  return env;
}

function volumeMounts(service: Dict): { source: string; target: string }[] {
  const raw = service.volumes ?? [];
  assert.ok(Array.isArray(raw), 'volumes should be a list');
  return raw.map((v: unknown) => {
    if (typeof v === 'string') {
      const [source = '', target = ''] = v.split(':');
      return { source, target };
    }
    const d = dict(v, 'volume');
    return { source: String(d.source ?? ''), target: String(d.target ?? '') };
  });
}

/** `30s`, `2m`, `1m30s`, `1h` -> seconds. */
function durationSeconds(value: unknown): number {
  const text = String(value);
  const units: Record<string, number> = { h: 3600, m: 60, s: 1, ms: 0.001, us: 1e-6 };
  let total = 0;
  const parts = [...text.matchAll(/(\d+(?:\.\d+)?)(ms|us|h|m|s)/g)];
  assert.ok(parts.length > 0 && parts.map((p) => p[0]).join('') === text, `"${text}" is not a compose duration`);
  for (const [, n, unit] of parts) total += Number(n) * (units[unit ?? 's'] ?? 1);
  return total;
}

/** `build: .` or `build: { context, dockerfile }`. */
function buildSpec(build: unknown, where: string): { context: string; dockerfile: string } {
  if (typeof build === 'string') return { context: build, dockerfile: 'Dockerfile' };
  const d = dict(build, `${where}.build`);
  return { context: String(d.context ?? '.'), dockerfile: String(d.dockerfile ?? 'Dockerfile') };
}

/** `node dist/x/main.js` -> `x/main.ts`, the source that tsc turns into it. */
function sourceOfScript(command: string[]): string | undefined {
  const script = command.find((word) => /^(\.\/)?dist\/.+\.js$/.test(word));
  return script?.replace(/^(\.\/)?dist\//, '').replace(/\.js$/, '.ts');
}

function loadCompose(): { services: Record<(typeof SERVICES)[number], Dict>; top: Dict } {
  const doc = parseDocument(COMPOSE_TEXT);
  assert.deepEqual(doc.errors.map((e) => e.message), [], 'docker-compose.yml is valid YAML');
  assert.deepEqual(doc.warnings.map((e) => e.message), [], 'docker-compose.yml parses without warnings');
  const top = dict(doc.toJS() as unknown, 'docker-compose.yml');
  const services = dict(top.services, 'services');
  const picked = {} as Record<(typeof SERVICES)[number], Dict>;
  for (const name of SERVICES) picked[name] = dict(services[name], `services.${name}`);
  return { services: picked, top };
}

// ---- Dockerfile: instructions grouped by stage ----

interface Instruction {
  keyword: string;
  args: string;
}

function dockerfileStages(text: string): Instruction[][] {
  const joined = text.replace(/\\\r?\n/g, ' ');
  const instructions = joined
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => {
      const match = /^(\S+)\s*(.*)$/.exec(line);
      return { keyword: (match?.[1] ?? '').toUpperCase(), args: match?.[2] ?? '' };
    });
  const stages: Instruction[][] = [];
  for (const instruction of instructions) {
    if (instruction.keyword === 'FROM') stages.push([]);
    stages.at(-1)?.push(instruction);
  }
  return stages;
}

/** COPY's sources and destination, destination resolved against the stage's WORKDIR. */
function copies(stage: Instruction[]): { sources: string[]; dest: string; from?: string }[] {
  let workdir = '/';
  const result: { sources: string[]; dest: string; from?: string }[] = [];
  for (const { keyword, args } of stage) {
    if (keyword === 'WORKDIR') workdir = posix.resolve(workdir, args);
    if (keyword !== 'COPY' && keyword !== 'ADD') continue;
    const tokens = args.split(/\s+/);
    const from = tokens.find((t) => t.startsWith('--from='))?.slice('--from='.length);
    const paths = tokens.filter((t) => !t.startsWith('--'));
    const dest = paths.pop() ?? '';
    const resolved = posix.resolve(workdir, dest) + (dest.endsWith('/') ? '/' : '');
    result.push(from === undefined ? { sources: paths, dest: resolved } : { sources: paths, dest: resolved, from });
  }
  return result;
}

function finalWorkdir(stage: Instruction[]): string {
  return stage.filter((i) => i.keyword === 'WORKDIR').reduce((dir, i) => posix.resolve(dir, i.args), '/');
}

// ---- compose ----

test('compose: the five services exist and nothing else is half-defined', () => {
  const { services, top } = loadCompose();
  assert.deepEqual(Object.keys(dict(top.services, 'services')).sort(), [...SERVICES].sort());
  for (const name of SERVICES) assert.equal(services[name].restart, 'unless-stopped', `${name} restarts after a crash`);
});

test('compose: redis keeps jobs (appendonly yes) and never evicts them (noeviction)', () => {
  const { services, top } = loadCompose();
  const redis = services.redis;
  assert.match(String(redis.image), /^redis:7(\.|$|-)/);
  const command = words(redis.command, 'redis.command').join(' ');
  assert.match(command, /--appendonly\s+yes\b/);
  assert.match(command, /--maxmemory-policy\s+noeviction\b/);
  const data = volumeMounts(redis).find((m) => m.target === '/data');
  assert.ok(data, 'redis data lives on a volume at /data');
  assert.ok(Object.hasOwn(dict(top.volumes, 'volumes'), data.source), `volume ${data.source} is declared`);
  assert.match(words(dict(redis.healthcheck, 'redis.healthcheck').test, 'healthcheck.test').join(' '), /redis-cli.*ping/);
});

test('compose: executors scale (no container_name, no published ports, no fixed EXECUTOR_ID)', () => {
  const { services } = loadCompose();
  const executor = services.executor;
  assert.equal(executor.container_name, undefined);
  assert.equal(executor.ports, undefined);
  assert.equal(executor.hostname, undefined, 'a fixed hostname would give every replica the same executor id');
  assert.equal(environment(executor, 'executor').has('EXECUTOR_ID'), false);
  assert.ok(durationSeconds(executor.stop_grace_period) >= 60, 'executors get time to finish running tasks on SIGTERM');
});

test('compose: every build context has a Dockerfile', () => {
  const { services } = loadCompose();
  let built = 0;
  for (const name of SERVICES) {
    const build = services[name].build;
    if (build === undefined) continue;
    built++;
    const { context, dockerfile } = buildSpec(build, name);
    assert.ok(existsSync(join(ROOT, context, dockerfile)), `${name}: ${join(context, dockerfile)} exists`);
  }
  assert.equal(built, 4, 'fileserver, scheduler, executor and dashboard are built from this repository');
});

test('compose: every service command runs a script that tsc builds from an existing source', () => {
  const { services } = loadCompose();
  for (const name of ['fileserver', 'scheduler', 'executor', 'dashboard'] as const) {
    const command = words(services[name].command, `${name}.command`);
    assert.equal(command[0], 'node', `${name} runs node directly so it receives SIGTERM`);
    const source = sourceOfScript(command);
    assert.equal(source, `${name}/main.ts`, `${name} runs its own entry file`);
    assert.ok(existsSync(join(ROOT, source)), `${name}: ${source} exists (command ${command.join(' ')})`);
  }
});

test('compose: settings come from .env (env_file, optional) and the shell, never a `:?` that breaks every command', () => {
  const { services } = loadCompose();
  assert.doesNotMatch(COMPOSE_TEXT, /\$\{[A-Z_]+:\?/, 'no ${VAR:?...}: it fails every docker compose command, even `logs`, when unset');
  for (const name of ['fileserver', 'scheduler', 'executor', 'dashboard'] as const) {
    const files = services[name].env_file;
    assert.ok(Array.isArray(files), `${name}: env_file is a list`);
    const entry = dict(files[0], `${name}.env_file[0]`);
    assert.equal(entry.path, '.env', `${name} reads .env`);
    assert.equal(entry.required, false, `${name} starts without .env (the shell may give the settings)`);
    for (const [key, value] of environment(services[name], name)) {
      // A bare `KEY:` would unset what .env gives, in some compose versions: pass-throughs use ${KEY:-...}.
      assert.notEqual(value, null, `${name}: ${key} is written \${${key}:-} rather than left empty`);
      const ref = /^\$\{([A-Z_]+):-[^}]*\}$/.exec(String(value));
      if (ref) assert.equal(ref[1], key, `${name}: ${key} takes its own variable`);
    }
  }
});

test('compose: UPLOAD_TOKEN comes from .env or the shell, never a literal or a default', () => {
  const { services } = loadCompose();
  for (const name of ['fileserver', 'executor'] as const) {
    assert.equal(environment(services[name], name).get('UPLOAD_TOKEN'), '${UPLOAD_TOKEN:-}', `${name}: the shell's token, else .env's, else empty (the process then says it is required)`);
  }
  assert.doesNotMatch(COMPOSE_TEXT, /UPLOAD_TOKEN:-[^}]/, 'no default token anywhere');
  assert.doesNotMatch(COMPOSE_TEXT, /^\s*-?\s*UPLOAD_TOKEN\s*[:=]\s*[^\s$]/m, 'no literal token anywhere');
  assert.match(ENV_EXAMPLE, /^UPLOAD_TOKEN=$/m, '.env.example lists UPLOAD_TOKEN, empty');
});

test('.env.example: only documented settings, and .env stays out of git and the image', () => {
  const keys = ENV_EXAMPLE.split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => {
      const m = /^([A-Z][A-Z0-9_]*)=(.*)$/.exec(line);
      assert.ok(m, `.env.example: "${line}" is KEY=value`);
      return m[1]!;
    });
  assert.ok(keys.length > 0);
  for (const key of keys) assert.ok(KNOWN_ENV.has(key), `.env.example: ${key} is a setting the code reads`);
  const gitignored = readFileSync(join(ROOT, '.gitignore'), 'utf8').split(/\r?\n/).map((l) => l.trim());
  assert.ok(gitignored.includes('.env'), '.gitignore lists .env (it holds the token)');
  const dockerignored = readFileSync(join(ROOT, '.dockerignore'), 'utf8').split(/\r?\n/).map((l) => l.trim());
  assert.ok(dockerignored.includes('.env'), '.dockerignore lists .env');
});

test('compose: every service has a health check; scheduler and executor answer /healthz on their METRICS_PORT', () => {
  const { services } = loadCompose();
  for (const name of SERVICES) assert.ok(services[name].healthcheck, `${name} has a healthcheck`);
  for (const name of ['scheduler', 'executor'] as const) {
    const env = environment(services[name], name);
    const port = env.get('METRICS_PORT');
    assert.match(String(port), /^\d+$/, `${name}: a fixed METRICS_PORT`);
    const check = words(dict(services[name].healthcheck, `${name}.healthcheck`).test, 'healthcheck.test').join(' ');
    assert.match(check, new RegExp(`node -e .*fetch\\('http://127\\.0\\.0\\.1:${port}/healthz'\\)`));
  }
});

test('compose: metrics are served on all interfaces of each container and reachable', () => {
  const { services } = loadCompose();
  const wanted = { fileserver: '9466', scheduler: '9464', executor: '9465' } as const;
  for (const [name, port] of Object.entries(wanted) as [keyof typeof wanted, string][]) {
    const env = environment(services[name], name);
    assert.equal(env.get('METRICS_HOST'), '0.0.0.0', `${name}: METRICS_HOST 0.0.0.0, or nothing outside the container reaches it`);
    assert.equal(env.get('METRICS_PORT'), port, `${name}: METRICS_PORT ${port}, as docs/operations.md says`);
    const published = services[name].ports === undefined ? [] : words(services[name].ports, `${name}.ports`);
    const exposed = services[name].expose === undefined ? [] : (services[name].expose as unknown[]).map(String);
    assert.ok(exposed.includes(port) || published.some((p) => p.endsWith(`:${port}`)), `${name}: ${port} is exposed or published`);
  }
  assert.ok(words(services.fileserver.ports, 'fileserver.ports').includes(`127.0.0.1:9466:9466`), 'fileserver metrics published on the host loopback');
});

test('compose: each executor container offers and is limited to 1 cpu by default', () => {
  const { services } = loadCompose();
  const executor = services.executor;
  assert.equal(environment(executor, 'executor').get('EXECUTOR_CPUS'), '${EXECUTOR_CPUS:-1}');
  const limits = dict(dict(dict(executor.deploy, 'executor.deploy').resources, 'deploy.resources').limits, 'deploy.resources.limits');
  assert.equal(String(limits.cpus), '${EXECUTOR_CPUS:-1}', 'the limit follows the offer, so an executor never offers more than it may use');
});

test('compose: uploads land in ./uploads (a bind mount the user can open), where UPLOAD_DIR points', () => {
  const { services, top } = loadCompose();
  const fileserver = services.fileserver;
  const uploadDir = environment(fileserver, 'fileserver').get('UPLOAD_DIR');
  assert.ok(uploadDir, 'fileserver sets UPLOAD_DIR');
  assert.ok(
    volumeMounts(fileserver).some((m) => m.source === './uploads' && m.target === uploadDir),
    `./uploads bind-mounted at ${uploadDir}`,
  );
  assert.ok(!Object.hasOwn(dict(top.volumes ?? {}, 'volumes'), 'uploads'), 'no named uploads volume left behind');
  assert.match(DEPLOYMENT, /mkdir -p uploads/, 'docs/deployment.md says to create ./uploads first (else Docker makes it root-owned)');
  assert.match(DEPLOYMENT, /uid 1000/, 'docs/deployment.md says who owns the files');
});

test('docs/deployment.md: the compose section has the watching recipes through `docker compose exec redis redis-cli`', () => {
  const compose = DEPLOYMENT.slice(DEPLOYMENT.indexOf('## Docker compose'), DEPLOYMENT.indexOf('\n## ', DEPLOYMENT.indexOf('## Docker compose') + 1));
  for (const recipe of ['llen bull:images:wait', 'llen bull:images:active', 'zcard bull:images:completed', 'zcard bull:images:failed']) {
    assert.ok(compose.includes(`docker compose exec redis redis-cli ${recipe}`), `compose section: docker compose exec redis redis-cli ${recipe}`);
  }
  assert.match(compose, /cp \.env\.example \.env/);
});

test('compose: fileserver listens on all interfaces, publishes its port and has a health check', () => {
  const { services } = loadCompose();
  const fileserver = services.fileserver;
  const env = environment(fileserver, 'fileserver');
  assert.equal(env.get('HOST'), '0.0.0.0');
  const port = env.get('PORT');
  assert.equal(port, '8080');
  const ports = words(fileserver.ports, 'fileserver.ports');
  assert.ok(ports.some((p) => p.endsWith(`:${port}`)), `container port ${port} is published`);
  const check = words(dict(fileserver.healthcheck, 'fileserver.healthcheck').test, 'healthcheck.test').join(' ');
  assert.match(check, new RegExp(`node -e .*fetch\\(.*:${port}/healthz`));
});

test('compose: scheduler and executors find redis and the fileserver by service name', () => {
  const { services } = loadCompose();
  for (const name of ['scheduler', 'executor'] as const) {
    const env = environment(services[name], name);
    assert.equal(env.get('REDIS_URL'), 'redis://redis:6379');
    assert.equal(env.get('FILESERVER_URL'), 'http://fileserver:8080');
    const redisDep = dict(dict(services[name].depends_on, `${name}.depends_on`).redis, `${name}.depends_on.redis`);
    assert.equal(redisDep.condition, 'service_healthy', `${name} waits for a healthy redis`);
  }
  assert.equal(environment(services.executor, 'executor').has('UPLOAD_TOKEN'), true);
});

test('compose: the dashboard is published on the host loopback only, needs a token, and reads the results read-only', () => {
  const { services } = loadCompose();
  const dashboard = services.dashboard;
  const env = environment(dashboard, 'dashboard');
  assert.equal(env.get('DASHBOARD_HOST'), '0.0.0.0', 'inside its container it must listen beyond loopback to be published');
  assert.equal(env.get('DASHBOARD_TOKEN'), '${DASHBOARD_TOKEN:-}', 'the token comes from .env or the shell, never a literal');
  assert.match(ENV_EXAMPLE, /^DASHBOARD_TOKEN=$/m, '.env.example lists DASHBOARD_TOKEN, empty');
  assert.deepEqual(words(dashboard.ports, 'dashboard.ports'), [`127.0.0.1:${env.get('DASHBOARD_PORT')}:${env.get('DASHBOARD_PORT')}`]);
  assert.equal(env.get('REDIS_URL'), 'redis://redis:6379');
  assert.ok(volumeMounts(dashboard).some((m) => m.source === './uploads' && m.target === env.get('UPLOAD_DIR')), 'thumbnails from ./uploads');
  assert.match(String(dashboard.volumes), /:ro$/, 'mounted read-only');
  const check = words(dict(dashboard.healthcheck, 'dashboard.healthcheck').test, 'healthcheck.test').join(' ');
  assert.match(check, new RegExp(`fetch\\('http://127\\.0\\.0\\.1:${env.get('DASHBOARD_PORT')}/healthz'\\)`));
});

test('compose: only agreed environment variable names are used', () => {
  const { services } = loadCompose();
  for (const name of SERVICES) {
    for (const key of environment(services[name], name).keys()) {
      assert.ok(KNOWN_ENV.has(key), `${name}: unknown environment variable ${key} (typo, or add it to KNOWN_ENV)`);
    }
  }
});

test('compose: `docker compose config -q` accepts the file', (t) => {
  const candidates: string[][] = [['docker', 'compose'], ['docker-compose']];
  const found = candidates.find(([cmd = '', ...sub]) => spawnSync(cmd, [...sub, 'version'], { stdio: 'ignore', timeout: 10_000 }).status === 0);
  if (!found) {
    t.skip('neither `docker compose` nor `docker-compose` is installed; checked by parsing only');
    return;
  }
  const [cmd = '', ...sub] = found;
  const run = spawnSync(cmd, [...sub, '-f', join(ROOT, 'docker-compose.yml'), 'config', '-q'], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 30_000,
    env: { ...process.env, UPLOAD_TOKEN: 'test-token' },
  });
  assert.equal(run.status, 0, run.stderr);
  const missing = spawnSync(cmd, [...sub, '-f', join(ROOT, 'docker-compose.yml'), 'config', '-q'], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 30_000,
    env: { ...process.env, UPLOAD_TOKEN: '' },
  });
  assert.equal(missing.status, 0, `config works without UPLOAD_TOKEN (only the fileserver and executors need it, and say so): ${missing.stderr}`);
});

// ---- Dockerfile ----

test('Dockerfile: builds on node:20-bookworm-slim with npm ci, build, prune', () => {
  const stages = dockerfileStages(readFileSync(join(ROOT, 'Dockerfile'), 'utf8'));
  assert.ok(stages.length >= 2, 'multi-stage');
  for (const stage of stages) assert.match(stage[0]?.args ?? '', /^node:20-bookworm-slim\b/);
  const runs = stages.slice(0, -1).flat().filter((i) => i.keyword === 'RUN').map((i) => i.args).join(' && ');
  assert.match(runs, /\bnpm ci\b/);
  assert.match(runs, /\bnpm run build\b/);
  assert.match(runs, /\bnpm prune --omit=dev\b/);
});

test('Dockerfile: the runtime stage has everything `node dist/...` needs, messages.proto included', () => {
  const stages = dockerfileStages(readFileSync(join(ROOT, 'Dockerfile'), 'utf8'));
  const runtime = stages.at(-1) ?? [];
  const workdir = finalWorkdir(runtime);
  const dests = copies(runtime);
  const landsAt = (path: string) =>
    dests.some((c) => c.dest === posix.join(workdir, path) || (c.dest.endsWith('/') && posix.join(c.dest, posix.basename(path)) === posix.join(workdir, path)));
  // "type": "module" lives in package.json; without it node cannot load dist/**/*.js.
  for (const path of ['package.json', 'node_modules', 'dist', 'images']) assert.ok(landsAt(path), `runtime copies ${path}`);
  // The codec reads messages.proto next to itself: `npm run build` copies it into dist/protocol/.
  const buildScript = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).scripts.build as string;
  // The build is either inline or a script file (`node bin/build.js`): check whichever does the copy.
  const buildFile = /^node (\S+\.js)$/.exec(buildScript)?.[1];
  const build = buildFile === undefined ? buildScript : readFileSync(join(ROOT, buildFile), 'utf8');
  assert.match(build, /protocol\/messages\.proto.*dist\/protocol\/messages\.proto/, 'the build puts messages.proto into dist/protocol/');
  assert.match(readFileSync(join(ROOT, 'protocol/codec.ts'), 'utf8'), /new URL\('\.\/messages\.proto', import\.meta\.url\)/);
});

test('Dockerfile: runs as a non-root user', () => {
  const runtime = dockerfileStages(readFileSync(join(ROOT, 'Dockerfile'), 'utf8')).at(-1) ?? [];
  const user = runtime.filter((i) => i.keyword === 'USER').at(-1)?.args.split(':')[0];
  assert.ok(user, 'the runtime stage sets USER');
  assert.ok(!['root', '0'].includes(user), `USER ${user} is not root`);
});

test('Dockerfile: the default CMD is the scheduler, in exec form, and its source exists', () => {
  const runtime = dockerfileStages(readFileSync(join(ROOT, 'Dockerfile'), 'utf8')).at(-1) ?? [];
  const cmd = runtime.filter((i) => i.keyword === 'CMD').at(-1);
  assert.ok(cmd, 'CMD is set');
  const argv = JSON.parse(cmd.args) as unknown;
  assert.ok(Array.isArray(argv), 'exec form, so node is PID 1 of the command and gets SIGTERM');
  const source = sourceOfScript(words(argv, 'CMD'));
  assert.equal(source, 'scheduler/main.ts');
  assert.ok(existsSync(join(ROOT, source)));
});

test('.dockerignore keeps host node_modules and dist out of the build context', () => {
  const ignored = readFileSync(join(ROOT, '.dockerignore'), 'utf8')
    .split(/\r?\n/)
    .map((line) => line.trim().replace(/^\/|\/$/g, ''));
  for (const entry of ['node_modules', 'dist', 'uploads', '.git']) assert.ok(ignored.includes(entry), `.dockerignore lists ${entry}`);
});
