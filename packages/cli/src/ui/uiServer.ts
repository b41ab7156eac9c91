import type { Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import express from 'express';
import type { Producer } from '@obsq/producer';
import { coerceError, QUEUE_NAMES, type Logger } from '@obsq/shared';
import { basicAuth, isLoopback, type UiCredentials } from './basicAuth.js';
import { renderJob, renderRecords } from './recordsPage.js';

/** Options of {@link startUiServer}. */
export interface UiServerOptions {
  /** Gives the queues (with the hash-tagged prefix), records and job details. Owned by the caller. */
  producer: Producer;
  /** Address to bind. @defaultValue '127.0.0.1' */
  host?: string;
  /** Port; 0 picks a free one. @defaultValue 3000 */
  port?: number;
  /**
   * Let the board change queues (clean, remove, promote, pause). Retrying from the board stays off
   * even then: it would re-run a failed upload's parent on an aborted upload; use `obsq retry`.
   * @defaultValue false (read-only)
   */
  allowActions?: boolean;
  /** Basic-auth credentials; required when `host` is not a loopback address. */
  auth?: UiCredentials;
  logger: Logger;
}

/** A running UI server. */
export interface UiServer {
  /** Base URL, e.g. `http://127.0.0.1:3000/`. */
  url: string;
  /** Stops accepting connections and closes open ones. Idempotent. */
  close(): Promise<void>;
}

/**
 * Serves bull-board over every obsq queue at `/queues`, and the records pages at `/records`
 * (newest GetResult records, failures, one job with its record, open batches).
 *
 * @throws TypeError when bound to a non-loopback address without `auth`
 */
export async function startUiServer(options: UiServerOptions): Promise<UiServer> {
  const opts = { host: '127.0.0.1', port: 3000, allowActions: false, ...options };
  if (!isLoopback(opts.host) && !opts.auth) {
    throw new TypeError(`OBSQ_UI_USER and OBSQ_UI_PASSWORD must be set to serve the UI on ${opts.host} (a non-loopback address)`);
  }
  const { producer, logger } = opts;

  const board = new ExpressAdapter();
  board.setBasePath('/queues');
  createBullBoard({
    queues: QUEUE_NAMES.map(
      (name) =>
        new BullMQAdapter(producer.queue(name), {
          readOnlyMode: !opts.allowActions,
          allowRetries: false,
          description: name,
        }),
    ),
    serverAdapter: board,
    options: {
      uiConfig: {
        boardTitle: opts.allowActions ? 'obsq' : 'obsq (read-only)',
        miscLinks: [
          { text: 'Records', url: '/records' },
          { text: 'Failed records', url: '/records?failed=1' },
        ],
        hideDocsLink: true,
      },
    },
  });

  const app = express();
  app.disable('x-powered-by');
  if (opts.auth) app.use(basicAuth(opts.auth));
  app.get('/', (_req, res) => res.redirect('/queues'));
  app.use('/queues', board.getRouter() as express.Router);
  app.get('/records', async (req, res, next) => {
    try {
      const failedOnly = req.query.failed === '1';
      const [records, openBatches] = await Promise.all([producer.recentRecords({ limit: 200, failedOnly }), producer.openBatches()]);
      res.type('html').set('Cache-Control', 'no-store').send(renderRecords({ records, failedOnly, openBatches }));
    } catch (err) {
      next(err);
    }
  });
  app.get('/records/lookup', (req, res) => {
    const job = typeof req.query.job === 'string' ? req.query.job.trim() : '';
    res.redirect(job ? `/records/${encodeURIComponent(job)}` : '/records');
  });
  app.get('/records/:jobId', async (req, res, next) => {
    try {
      res.type('html').set('Cache-Control', 'no-store').send(renderJob(req.params.jobId, await producer.showJob(req.params.jobId)));
    } catch (err) {
      next(err);
    }
  });
  app.get('/api/records', async (req, res, next) => {
    try {
      const limit = Number(req.query.limit ?? 100);
      res.set('Cache-Control', 'no-store').json(await producer.recentRecords({ limit: Number.isInteger(limit) ? limit : 100, failedOnly: req.query.failed === '1' }));
    } catch (err) {
      next(err);
    }
  });
  app.use((err: unknown, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
    logger.error({ err: coerceError(err) }, 'ui request failed');
    res.status(500).type('text/plain').send('internal error (see the ui log)\n');
  });

  const server: Server = await new Promise((resolve, reject) => {
    const s = app.listen(opts.port, opts.host, (err?: Error) => (err ? reject(err) : resolve(s)));
    s.once('error', reject);
  });
  const sockets = new Set<Socket>();
  server.on('connection', (s) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  });
  const addr = server.address() as AddressInfo;
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  let closing: Promise<void> | undefined;
  return {
    url: `http://${host}:${addr.port}/`,
    close: () =>
      (closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      })),
  };
}
