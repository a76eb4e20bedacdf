/**
 * `npm run service -- start|list|scale|stop`: services as desired state in Redis, which the
 * leading scheduler keeps true. Exit codes: 0 done, 1 Redis unusable, 2 bad input (one line).
 */
import { readFile, stat } from 'node:fs/promises';
import { extname } from 'node:path';
import { type RedisClient, queueKeys } from '../common/redis.js';
import { clientRedis, runCli } from '../client/cli-runner.js';
import { loadClientConfig } from '../client/client-config.js';
import { parseServiceArgs, SERVICE_USAGE, ServiceUsageError, type ServiceCommand } from '../client/service-args.js';
import { formatRows, instanceRows } from '../client/service-list.js';
import type { ClusterState } from '../common/cluster-state.js';
import type { Keys } from '../common/keys.js';
import { MAX_SERVICE_BODY_BYTES, parseService, serializeService, type ServiceDef } from '../common/service-def.js';

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.htm': 'text/html; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.json': 'application/json',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
};

async function bodyOf(cmd: Extract<ServiceCommand, { kind: 'start' }>): Promise<{ body: Buffer; contentType: string }> {
  if (cmd.text !== undefined) return { body: Buffer.from(cmd.text), contentType: cmd.contentType ?? 'text/plain; charset=utf-8' };
  const file = cmd.file!;
  let size: number;
  try {
    const s = await stat(file);
    if (!s.isFile()) throw new ServiceUsageError(`${file} is not a file`);
    size = s.size;
  } catch (err) {
    if (err instanceof ServiceUsageError) throw err;
    throw new ServiceUsageError(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  if (size > MAX_SERVICE_BODY_BYTES) throw new ServiceUsageError(`${file} is ${size} bytes; a service serves at most ${MAX_SERVICE_BODY_BYTES}`);
  return { body: await readFile(file), contentType: cmd.contentType ?? CONTENT_TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream' };
}

async function loadDesired(redis: RedisClient, keys: Keys): Promise<Map<string, ServiceDef>> {
  const out = new Map<string, ServiceDef>();
  for (const [name, text] of Object.entries(await redis.hgetall(keys.services))) {
    const { service } = parseService(text);
    if (service) out.set(name, service);
  }
  return out;
}

async function existing(redis: RedisClient, keys: Keys, name: string): Promise<ServiceDef> {
  const text = await redis.hget(keys.services, name);
  const service = text === null ? undefined : parseService(text).service;
  if (!service) throw new ServiceUsageError(`no service named ${JSON.stringify(name)} (see: npm run service -- list)`);
  return service;
}

async function run(cmd: Exclude<ServiceCommand, { kind: 'help' }>, redis: RedisClient, keys: Keys): Promise<void> {
  const now = Date.now();
  switch (cmd.kind) {
    case 'start': {
      const { body, contentType } = await bodyOf(cmd);
      const previous = await redis.hget(keys.services, cmd.name);
      const createdAtMs = (previous && parseService(previous).service?.createdAtMs) || now;
      const def: ServiceDef = { name: cmd.name, instances: cmd.instances, body, contentType, cpus: cmd.cpus, memMb: cmd.memMb, healthPath: cmd.healthPath, createdAtMs, updatedAtMs: now };
      await redis.hset(keys.services, cmd.name, serializeService(def));
      console.log(`${previous ? 'updated' : 'started'} service ${cmd.name}: ${cmd.instances} instance${cmd.instances === 1 ? '' : 's'} serving ${body.length} bytes (${contentType}); see them with: npm run service -- list`);
      return;
    }
    case 'scale': {
      const def = await existing(redis, keys, cmd.name);
      await redis.hset(keys.services, cmd.name, serializeService({ ...def, instances: cmd.instances, updatedAtMs: now }));
      console.log(`scaled service ${cmd.name} from ${def.instances} to ${cmd.instances} instance${cmd.instances === 1 ? '' : 's'}`);
      return;
    }
    case 'stop': {
      const def = await existing(redis, keys, cmd.name);
      await redis.hdel(keys.services, cmd.name);
      console.log(`stopped service ${cmd.name} (${def.instances} instance${def.instances === 1 ? '' : 's'} are being stopped)`);
      return;
    }
    case 'list': {
      const [desired, stateText] = await Promise.all([loadDesired(redis, keys), redis.get(keys.state)]);
      const state = stateText ? (JSON.parse(stateText) as ClusterState) : undefined;
      const rows = instanceRows(desired, state, Date.now());
      if (cmd.json) {
        console.log(JSON.stringify(rows, null, 2));
        return;
      }
      if (desired.size === 0 && rows.length === 0) {
        console.log('no services (start one with: npm run service -- start NAME --instances N --text "...")');
        return;
      }
      if (rows.length > 0) console.log(formatRows(rows));
      for (const def of desired.values()) if (def.instances === 0) console.log(`${def.name}: scaled to 0 instances`);
      if (!state) console.log('\nno scheduler is publishing its state: instances show as PENDING until one leads');
      return;
    }
  }
}

async function main(argv: string[]): Promise<number> {
  let cmd: ServiceCommand;
  try {
    cmd = parseServiceArgs(argv);
  } catch (err) {
    if (err instanceof ServiceUsageError) {
      console.error(`service: ${err.message}`);
      return 2;
    }
    throw err;
  }
  if (cmd.kind === 'help') {
    console.log(SERVICE_USAGE);
    return 0;
  }
  const config = loadClientConfig(process.env);
  const redis = await clientRedis('service', config.redisUrl);
  if (redis === undefined) return 1;
  try {
    await run(cmd, redis, queueKeys(redis, config.queueName));
    return 0;
  } catch (err) {
    if (err instanceof ServiceUsageError) {
      console.error(`service: ${err.message}`);
      return 2;
    }
    console.error(`service: ${(err as Error).message}`);
    return 1;
  } finally {
    redis.disconnect();
  }
}

runCli('service', main);
