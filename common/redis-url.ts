/**
 * REDIS_URL in all its forms, parsed without I/O: one server (`redis://`, `rediss://`), a
 * Sentinel-watched primary (`redis+sentinel://`), or a Cluster (`redis+cluster://`), each with
 * `rediss+` for TLS. createRedis (common/redis.ts) turns the result into a connection.
 *
 *   redis+sentinel://[user:password@]host:port[,host:port...]/MASTER_NAME[?db=N&sentinelPassword=...]
 *   redis+cluster://[user:password@]host:port[,host:port...]
 */

export type RedisTopology = 'standalone' | 'sentinel' | 'cluster';

export interface RedisNode {
  host: string;
  port: number;
}

export interface RedisTarget {
  topology: RedisTopology;
  tls: boolean;
  /** The server for standalone; the sentinels for sentinel; the seed nodes for cluster. */
  nodes: RedisNode[];
  username?: string;
  password?: string;
  db?: number;
  /** Sentinel only: the monitored master's name. */
  masterName?: string;
  /** Sentinel only: the sentinels' own password (`requirepass` in sentinel.conf), if they have one. */
  sentinelPassword?: string;
  sentinelUsername?: string;
  /** Standalone only: the URL as given, which ioredis parses itself (as it always has). */
  url?: string;
}

/** A REDIS_URL that cannot be used; the message names what is wrong and never holds a password. */
export class RedisUrlError extends Error {
  override readonly name = 'RedisUrlError';
  readonly code = 'REDIS_URL_INVALID';
}

const SCHEMES: Record<string, { topology: RedisTopology; tls: boolean }> = {
  'redis:': { topology: 'standalone', tls: false },
  'rediss:': { topology: 'standalone', tls: true },
  'redis+sentinel:': { topology: 'sentinel', tls: false },
  'rediss+sentinel:': { topology: 'sentinel', tls: true },
  'redis+cluster:': { topology: 'cluster', tls: false },
  'rediss+cluster:': { topology: 'cluster', tls: true },
};

export const REDIS_URL_FORMS =
  'redis://[user:password@]host:port[/db], rediss://..., ' +
  'redis+sentinel://[user:password@]host:port[,host:port...]/MASTER[?db=N&sentinelPassword=...], ' +
  'redis+cluster://[user:password@]host:port[,host:port...], or rediss+sentinel:// / rediss+cluster:// for TLS';

const DEFAULT_PORT: Record<RedisTopology, number> = { standalone: 6379, sentinel: 26379, cluster: 6379 };

/** Splits `scheme://authority/path?query`; the authority may hold several comma-separated hosts. */
function splitUrl(url: string): { scheme: string; userinfo?: string; hosts: string; path: string; query: string } {
  const m = /^([a-z][a-z0-9+.-]*:)\/\/([^/?#]*)([^?#]*)(?:\?([^#]*))?(#.*)?$/i.exec(url);
  if (!m) throw new RedisUrlError(`is not a URL (expected ${REDIS_URL_FORMS})`);
  if (m[5] !== undefined) throw new RedisUrlError('has a #fragment, which a Redis URL cannot use');
  const authority = m[2]!;
  const at = authority.lastIndexOf('@');
  return {
    scheme: m[1]!.toLowerCase(),
    ...(at >= 0 ? { userinfo: authority.slice(0, at) } : {}),
    hosts: at >= 0 ? authority.slice(at + 1) : authority,
    path: m[3] ?? '',
    query: m[4] ?? '',
  };
}

function decode(part: string, what: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    throw new RedisUrlError(`has a badly percent-encoded ${what}`);
  }
}

function parseHost(text: string, defaultPort: number): RedisNode {
  const m = /^(\[[0-9a-f:.]+\]|[^:[\]]+)(?::([^:]*))?$/i.exec(text);
  if (!m) throw new RedisUrlError(`has a host "${text}" that is not host or host:port`);
  const host = m[1]!.startsWith('[') ? m[1]!.slice(1, -1) : m[1]!;
  if (m[2] === undefined) return { host, port: defaultPort };
  const port = Number(m[2]);
  if (!/^\d+$/.test(m[2]) || port < 1 || port > 65535) throw new RedisUrlError(`has a port "${m[2]}" on host ${host} that is not a number from 1 to 65535`);
  return { host, port };
}

function parseDb(text: string): number {
  const db = Number(text);
  if (!/^\d+$/.test(text) || db > 1_000_000) throw new RedisUrlError(`has a database "${text}" that is not a whole number`);
  return db;
}

/** Parses and checks a REDIS_URL; throws RedisUrlError naming the first problem. */
export function parseRedisUrl(url: string): RedisTarget {
  const parts = splitUrl(url.trim());
  const scheme = SCHEMES[parts.scheme];
  if (!scheme) throw new RedisUrlError(`uses the scheme "${parts.scheme}" (expected ${REDIS_URL_FORMS})`);
  const { topology, tls } = scheme;
  const hostList = parts.hosts.split(',');
  if (hostList.some((h) => h === '')) throw new RedisUrlError(parts.hosts === '' ? 'names no host' : 'has an empty entry in its host list');
  if (topology === 'standalone' && hostList.length > 1) {
    throw new RedisUrlError('lists several hosts: use redis+sentinel://.../MASTER for Sentinel or redis+cluster:// for a Cluster');
  }
  const nodes = hostList.map((h) => parseHost(h, DEFAULT_PORT[topology]));
  const target: RedisTarget = { topology, tls, nodes };
  if (parts.userinfo !== undefined) {
    const colon = parts.userinfo.indexOf(':');
    const user = decode(colon >= 0 ? parts.userinfo.slice(0, colon) : parts.userinfo, 'user name');
    if (colon >= 0) target.password = decode(parts.userinfo.slice(colon + 1), 'password');
    if (user !== '') target.username = user;
  }
  const query = new URLSearchParams(parts.query);
  const allowed = topology === 'sentinel' ? ['db', 'sentinelPassword', 'sentinelUsername'] : topology === 'standalone' ? ['db', 'family'] : [];
  const unknown = [...new Set(query.keys())].filter((k) => !allowed.includes(k));
  if (unknown.length > 0) {
    throw new RedisUrlError(`has the unknown parameter${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')}` + (allowed.length > 0 ? ` (${topology} takes ${allowed.join(', ')})` : ` (${topology} takes none)`));
  }
  const db = query.get('db');
  if (db !== null) target.db = parseDb(db);

  const path = parts.path.replace(/^\/+/, '').replace(/\/+$/, '');
  if (topology === 'standalone') {
    if (path !== '') target.db = parseDb(path);
    target.url = url.trim();
  } else if (topology === 'sentinel') {
    if (path === '') throw new RedisUrlError('names no master: a Sentinel URL ends in /MASTER_NAME, e.g. redis+sentinel://h1:26379,h2:26379/mymaster');
    if (path.includes('/')) throw new RedisUrlError(`has the path "/${path}": a Sentinel URL's path is just the master name (the database goes in ?db=N)`);
    target.masterName = decode(path, 'master name');
    const sp = query.get('sentinelPassword');
    if (sp !== null) target.sentinelPassword = sp;
    const su = query.get('sentinelUsername');
    if (su !== null) target.sentinelUsername = su;
  } else if (path !== '') {
    throw new RedisUrlError(`has the path "/${path}": a Cluster URL has none (a Cluster has only database 0)`);
  }
  return target;
}

/** The problem with `url`, or undefined when it parses. */
export function redisUrlProblem(url: string): string | undefined {
  try {
    parseRedisUrl(url);
    return undefined;
  } catch (err) {
    if (err instanceof RedisUrlError) return err.message;
    throw err;
  }
}

/**
 * A Redis URL fit for terminals and logs: every password (the user's, and a Sentinel's in the
 * query) replaced by ***. Works on URLs that do not parse too, so an error can quote them.
 */
export function redactUrl(url: string): string {
  return url
    .replace(/^([a-z][a-z0-9+.-]*:\/\/[^/?#@]*?:)[^/?#]*@/i, (_m, head: string) => `${head}***@`)
    .replace(/([?&](?:sentinelPassword|password)=)[^&#]*/gi, '$1***');
}
