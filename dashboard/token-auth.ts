/**
 * Who may see the dashboard. With a token: a request carries it as `Authorization: Bearer`,
 * as a cookie set by one visit with `?token=` (then redirected without it, so the token leaves
 * the address bar and history), or gets 401. Without a token (loopback only): the Host header
 * must name a loopback address, so a web page that rebinds its DNS name to 127.0.0.1 cannot
 * read or drive the queue. Either way, a request that changes something (bull-board's retry,
 * clean, pause...) from a page of another origin is refused.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import { isLoopbackHost } from './dashboard-config.js';

export const TOKEN_COOKIE = 'offer_invert_dashboard';

export type AuthDecision =
  | { kind: 'allow' }
  /** The token came in the query: remember it in a cookie and redirect to `location`. */
  | { kind: 'set-cookie'; location: string }
  | { kind: 'deny'; status: 401 | 403; message: string };

export interface AuthRequest {
  method: string;
  /** The Origin header browsers send with cross-origin and non-GET requests. */
  origin: string | undefined;
  path: string;
  /** Path and query as requested. */
  url: string;
  host: string | undefined;
  authorization: string | undefined;
  cookie: string | undefined;
}

function sameSecret(given: string, token: string): boolean {
  const digest = (s: string) => createHash('sha256').update(s).digest();
  return timingSafeEqual(digest(given), digest(token));
}

export function cookieValue(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const at = part.indexOf('=');
    if (at > 0 && part.slice(0, at).trim() === name) {
      try {
        return decodeURIComponent(part.slice(at + 1).trim());
      } catch {
        return undefined;
      }
    }
  }
  return undefined;
}

function sameOrigin(origin: string, host: string | undefined): boolean {
  try {
    return new URL(origin).host === (host ?? '').toLowerCase();
  } catch {
    return false;
  }
}

/** Pure: what to do with one request. */
export function decideAuth(req: AuthRequest, token: string | undefined): AuthDecision {
  // Liveness only, no data: supervisors and healthchecks probe it without the token.
  if (req.path === '/healthz') return { kind: 'allow' };
  if (!['GET', 'HEAD', 'OPTIONS'].includes(req.method.toUpperCase()) && req.origin !== undefined && !sameOrigin(req.origin, req.host)) {
    return { kind: 'deny', status: 403, message: `a change from another origin (${req.origin}) is refused` };
  }
  if (token === undefined) {
    const hostname = (req.host ?? '').replace(/:\d+$/, '');
    return isLoopbackHost(hostname) ? { kind: 'allow' } : { kind: 'deny', status: 403, message: `Host ${JSON.stringify(req.host ?? '')} is not a loopback name; this dashboard serves 127.0.0.1 only` };
  }
  const bearer = /^Bearer\s+(\S+)$/i.exec(req.authorization ?? '')?.[1];
  if (bearer !== undefined && sameSecret(bearer, token)) return { kind: 'allow' };
  const cookie = cookieValue(req.cookie, TOKEN_COOKIE);
  if (cookie !== undefined && sameSecret(cookie, token)) return { kind: 'allow' };
  const url = new URL(req.url, 'http://dashboard.invalid');
  const query = url.searchParams.get('token');
  if (query !== null && sameSecret(query, token)) {
    url.searchParams.delete('token');
    return { kind: 'set-cookie', location: url.pathname + url.search };
  }
  return { kind: 'deny', status: 401, message: 'this dashboard needs its token: open it once with ?token=DASHBOARD_TOKEN, or send Authorization: Bearer DASHBOARD_TOKEN' };
}

export function tokenAuth(token: string | undefined) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const decision = decideAuth({ method: req.method, origin: req.headers.origin, path: req.path, url: req.originalUrl, host: req.headers.host, authorization: req.headers.authorization, cookie: req.headers.cookie }, token);
    if (decision.kind === 'allow') return next();
    if (decision.kind === 'set-cookie') {
      res.cookie(TOKEN_COOKIE, token!, { httpOnly: true, sameSite: 'strict', path: '/' });
      res.redirect(303, decision.location);
      return;
    }
    if (decision.status === 401) res.set('WWW-Authenticate', 'Bearer realm="offer-invert dashboard"');
    res.status(decision.status).type('text/plain').send(decision.message + '\n');
  };
}
