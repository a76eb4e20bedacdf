/**
 * The dashboard's HTTP app: the cluster page at `/` (refreshed from `/api/cluster`, the same JSON
 * `status --json` prints), bull-board at `/queues`, thumbnails at `/thumbs/<output name>`,
 * `/healthz`, `/metrics` (its own process metrics). Everything behind tokenAuth.
 */
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import type { Queue } from 'bullmq';
import express, { type Express, type Response } from 'express';
import type { RedisClient } from '../common/redis.js';
import { readClusterSnapshot } from '../client/cluster-snapshot.js';
import type { Keys } from '../common/keys.js';
import type { Logger } from '../common/log.js';
import { processRegistry } from '../common/metrics-server.js';
import { BOARD_CSP, clusterScript, PAGE_CSP, renderPage } from './cluster-page.js';
import { ThumbnailError, type Thumbnails } from './thumbnails.js';
import { tokenAuth } from './token-auth.js';

export interface DashboardDeps {
  redis: RedisClient;
  queue: Queue;
  keys: Keys;
  token: string | undefined;
  thumbnails: Thumbnails;
  log: Logger;
}

export function createDashboardApp(deps: DashboardDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.use((_req, res, next) => {
    res.set('X-Content-Type-Options', 'nosniff');
    res.set('Referrer-Policy', 'no-referrer');
    next();
  });
  app.use(tokenAuth(deps.token));

  app.get('/healthz', (_req, res) => void res.type('text/plain').send('ok\n'));

  // Its own process metrics (Prometheus) on its own port, behind the same token as the rest.
  const registry = processRegistry('dashboard');
  app.get('/metrics', async (_req, res) => void res.type(registry.contentType).send(await registry.metrics()));

  const board = new ExpressAdapter();
  board.setBasePath('/queues');
  // @bull-board/express 9.10.1 carries its own copy of @bull-board/api 9.10.1 beside our 9.10.2:
  // the same adapter, declared twice, so the types disagree on a private field. The versions
  // should be aligned in package.json; until then, the cast.
  type ServerAdapter = Parameters<typeof createBullBoard>[0]['serverAdapter'];
  createBullBoard({ queues: [new BullMQAdapter(deps.queue)], serverAdapter: board as unknown as ServerAdapter, options: { uiConfig: { boardTitle: 'offer-invert' } } });
  // Set before bull-board answers: its HTML, its API and its static files all carry it.
  app.use('/queues', (_req, res, next) => {
    res.set('Content-Security-Policy', BOARD_CSP);
    next();
  }, board.getRouter());

  const redisDown = (res: Response, err: unknown) => {
    deps.log.warn('dashboard cannot read Redis', { error: (err as Error).message });
    res.status(503).type('text/plain').send(`cannot read Redis: ${(err as Error).message}\n`);
  };

  app.get('/', async (_req, res) => {
    try {
      const snapshot = await readClusterSnapshot(deps.redis, deps.queue, deps.keys);
      res.set('Content-Security-Policy', PAGE_CSP).set('Cache-Control', 'no-store').type('html').send(renderPage(snapshot, snapshot.atMs));
    } catch (err) {
      redisDown(res, err);
    }
  });

  const script = clusterScript();
  app.get('/cluster.js', (_req, res) => void res.type('text/javascript').set('Cache-Control', 'no-cache').send(script));

  app.get('/api/cluster', async (_req, res) => {
    try {
      res.set('Cache-Control', 'no-store').json(await readClusterSnapshot(deps.redis, deps.queue, deps.keys));
    } catch (err) {
      redisDown(res, err);
    }
  });

  app.get('/thumbs/:name', async (req, res) => {
    try {
      const webp = await deps.thumbnails.get(req.params.name);
      res.type('image/webp').set('Cache-Control', 'private, max-age=60').send(webp);
    } catch (err) {
      const status = err instanceof ThumbnailError ? err.status : 502;
      if (status === 502) deps.log.warn('thumbnail failed', { name: req.params.name, error: (err as Error).message });
      res.status(status).type('text/plain').send(`${(err as Error).message}\n`);
    }
  });

  return app;
}
