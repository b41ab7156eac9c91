import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { coerceError } from '@obsq/shared';

/** What `ready()` answers: `ok: false` makes `/readyz` return 503 with `reason`. */
export interface Readiness {
  ok: boolean;
  /** Why the worker is not ready (e.g. `draining`, `redis unreachable`); never a secret. */
  reason?: string;
}

/** Options of {@link startMetricsServer}. */
export interface MetricsServerOptions {
  /**
   * Interface to listen on.
   * @defaultValue '0.0.0.0' (Prometheus scrapes from another host or container)
   */
  host?: string;
  /**
   * TCP port; 0 picks a free one (read it back from `MetricsServer.port`).
   * @defaultValue 9464
   */
  port?: number;
  /** The registry `GET /metrics` serves. */
  register: Registry;
  /** Called on every `GET /readyz`; a rejection or a timeout counts as not ready. */
  ready: () => Promise<Readiness>;
  /** Logs the bound address, scrape failures and readiness errors. */
  logger: Pick<Logger, 'info' | 'warn' | 'error'>;
  /**
   * How long `/readyz` waits for `ready()` before answering 503, in milliseconds.
   * @defaultValue 2000
   */
  readyTimeoutMs?: number;
}

/** A running metrics/health server. */
export interface MetricsServer {
  /** The bound port (the real one when `port: 0` was asked for). */
  readonly port: number;
  /** Base URL, e.g. `http://127.0.0.1:9464`. */
  readonly url: string;
  /**
   * Stops listening and destroys every open (keep-alive or in-flight) connection. Idempotent:
   * later calls return the same promise.
   */
  close(): Promise<void>;
}

const DEFAULTS = { host: '0.0.0.0', port: 9464, readyTimeoutMs: 2000 } satisfies Partial<MetricsServerOptions>;

function send(res: ServerResponse, status: number, contentType: string, body: string, head: boolean): void {
  res.writeHead(status, {
    'content-type': contentType,
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
  });
  res.end(head ? undefined : body);
}

function sendJson(res: ServerResponse, status: number, value: unknown, head: boolean): void {
  send(res, status, 'application/json; charset=utf-8', `${JSON.stringify(value)}\n`, head);
}

async function readiness(ready: () => Promise<Readiness>, timeoutMs: number): Promise<Readiness> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<Readiness>((resolve) => {
    timer = setTimeout(() => resolve({ ok: false, reason: `readiness check timed out after ${timeoutMs} ms` }), timeoutMs);
    timer.unref(); // a probe cut off by close() must not hold the process open
  });
  try {
    return await Promise.race([ready(), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Serves `GET /metrics` (Prometheus text), `GET /healthz` (200 while the process runs) and
 * `GET /readyz` (200 when `ready()` says ok, else 503 with the reason) over node:http.
 * Resolves once listening; the bound URL is logged.
 */
export async function startMetricsServer(options: MetricsServerOptions): Promise<MetricsServer> {
  // Undefined options fall back to the defaults instead of overriding them.
  const given = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) as MetricsServerOptions;
  const opts = { ...DEFAULTS, ...given };
  if (!opts.register || typeof opts.register.metrics !== 'function') {
    throw new TypeError('register must be a prom-client Registry');
  }
  if (typeof opts.ready !== 'function') throw new TypeError('ready must be a function returning Promise<Readiness>');
  if (!Number.isInteger(opts.port) || opts.port < 0 || opts.port > 65535) {
    throw new TypeError('port must be an integer from 0 to 65535');
  }
  if (!Number.isInteger(opts.readyTimeoutMs) || opts.readyTimeoutMs <= 0) {
    throw new TypeError('readyTimeoutMs must be a positive integer (milliseconds)');
  }
  const { register, ready, logger } = opts;

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = (req.url ?? '/').split('?', 1)[0];
    const head = req.method === 'HEAD';
    if (path !== '/metrics' && path !== '/healthz' && path !== '/readyz') {
      sendJson(res, 404, { error: 'not found' }, head);
      return;
    }
    if (req.method !== 'GET' && !head) {
      res.setHeader('allow', 'GET, HEAD');
      sendJson(res, 405, { error: 'method not allowed' }, false);
      return;
    }
    if (path === '/healthz') {
      sendJson(res, 200, { status: 'ok' }, head);
    } else if (path === '/readyz') {
      let state: Readiness;
      try {
        state = await readiness(ready, opts.readyTimeoutMs);
      } catch (err) {
        const e = coerceError(err);
        logger.warn({ err: e }, 'readiness check threw');
        state = { ok: false, reason: e.message };
      }
      if (state.ok) sendJson(res, 200, { status: 'ready' }, head);
      else sendJson(res, 503, { status: 'not ready', reason: state.reason ?? 'not ready' }, head);
    } else {
      try {
        send(res, 200, register.contentType, await register.metrics(), head);
      } catch (err) {
        logger.error({ err: coerceError(err) }, 'collecting metrics failed');
        sendJson(res, 500, { error: 'collecting metrics failed' }, head);
      }
    }
  };

  const sockets = new Set<Socket>();
  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      logger.error({ err: coerceError(err) }, 'metrics server request failed');
      if (!res.headersSent) sendJson(res, 500, { error: 'internal error' }, false);
      else res.destroy();
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });

  await new Promise<void>((resolve, reject) => {
    const onError = (err: Error) => {
      // A failed listen (EADDRINUSE) still holds a handle until closed.
      server.close();
      reject(err);
    };
    server.once('error', onError);
    server.listen(opts.port, opts.host, () => {
      server.off('error', onError);
      resolve();
    });
  });
  server.on('error', (err) => logger.error({ err }, 'metrics server error'));

  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : opts.port;
  const hostForUrl = opts.host.includes(':') ? `[${opts.host}]` : opts.host;
  const url = `http://${hostForUrl}:${port}`;
  logger.info({ url, port }, 'metrics server listening');

  let closing: Promise<void> | undefined;
  return {
    port,
    url,
    close() {
      closing ??= new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        // server.close() ends only idle connections and then waits for the rest; a scrape or a
        // readiness probe in flight (a hung Redis ping) would hold shutdown, so end them all now.
        for (const socket of sockets) socket.destroy();
        sockets.clear();
      }).then(() => logger.info({ url }, 'metrics server closed'));
      return closing;
    },
  };
}
