import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { coerceError, ObsqError } from '@obsq/shared';
import type { Logger } from 'pino';
import { defaultMessageFor, S3Error } from '../errors/index.js';
import type { FaultInjector } from '../faults/index.js';
import type { FileStore } from '../storage/index.js';
import { ADMIN_PREFIX, handleAdmin } from './admin.js';
import { HANDLERS, type ObsSettings } from './handlers/index.js';
import { RequestContext } from './requestContext.js';
import { drainBody, sendError } from './responses.js';
import { resolveOperation } from './router.js';
import { type AuthConfig, type AuthOutcome, verifyAuth } from './verifyAuth.js';

/** Everything the OBS server needs; owned by `startDevstack`. */
export interface ObsServerOptions {
  store: FileStore;
  /** Mutable: the admin API and `Devstack.configure` change it in place. */
  settings: ObsSettings;
  faults: FaultInjector;
  auth: AuthConfig;
  /** Host names under which `bucket.<name>` is virtual-hosted addressing, lower-case. */
  baseHosts: string[];
  logger: Logger;
}

/**
 * The OBS/S3-compatible HTTP front: routes each request to an operation, applies injected faults,
 * verifies the signature and runs the handler. Tracks sockets so `close()` can cut them.
 */
export class ObsServer {
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();
  private readonly abort = new AbortController();
  private closing: Promise<void> | undefined;

  private constructor(private readonly opts: ObsServerOptions) {
    this.server = createServer((req, res) => {
      void this.handle(req, res);
    });
    this.server.on('connection', (socket: Socket) => {
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
    });
  }

  /** Starts listening; `port` 0 picks a free port. */
  static async listen(opts: ObsServerOptions, port: number, host: string): Promise<ObsServer> {
    const s = new ObsServer(opts);
    await new Promise<void>((resolve, reject) => {
      s.server.once('error', reject);
      s.server.listen(port, host, () => {
        s.server.off('error', reject);
        resolve();
      });
    });
    return s;
  }

  /** The bound port. */
  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  /** Number of open client sockets (for leak checks). */
  get openSockets(): number {
    return this.sockets.size;
  }

  /** Stops accepting, aborts injected delays and destroys every socket. Idempotent. */
  close(): Promise<void> {
    this.closing ??= new Promise<void>((resolve, reject) => {
      this.abort.abort();
      this.server.close((err) => (err ? reject(err) : resolve()));
      for (const socket of this.sockets) socket.destroy();
    });
    return this.closing;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = performance.now();
    const ctx = new RequestContext(req, res);
    const { logger } = this.opts;
    try {
      ctx.resolve(this.opts.baseHosts);
      if (ctx.address.virtualHostBucket === undefined && ctx.rawPath.startsWith(ADMIN_PREFIX)) {
        ctx.op = 'Admin';
        await handleAdmin(ctx, { faults: this.opts.faults, settings: this.opts.settings });
        return;
      }
      ctx.op = resolveOperation(ctx);
      const decision = this.opts.faults.decide(ctx.op);
      if (decision.latencyMs > 0) await sleep(decision.latencyMs, undefined, { signal: this.abort.signal });
      if (decision.resetAfterBytes !== undefined) {
        await resetAfter(ctx, decision.resetAfterBytes);
        return;
      }
      if (decision.error?.bare) {
        await drainBody(ctx);
        res.writeHead(decision.error.status, { 'content-length': '0' });
        res.end();
        return;
      }
      if (decision.error) {
        const { status, code, message } = decision.error;
        throw new S3Error({ code, status }, message ?? defaultMessageFor(code));
      }
      const auth: AuthOutcome =
        ctx.op === 'GetApiVersion' ? { mode: 'obs', presigned: false } : verifyAuth(ctx, this.opts.auth);
      if (decision.tamper === 'drop-response') {
        // The operation runs to the end (its effect is stored); only its answer is lost.
        res.writeHead = (() => res) as unknown as typeof res.writeHead;
        res.end = (() => {
          req.socket.destroy();
          return res;
        }) as unknown as typeof res.end;
      }
      await HANDLERS[ctx.op as keyof typeof HANDLERS](ctx, {
        store: this.opts.store,
        settings: this.opts.settings,
        region: this.opts.auth.region,
        auth,
        ...(decision.tamper !== undefined ? { tamper: decision.tamper } : {}),
      });
    } catch (err) {
      // req.destroyed is no signal here: a fully read request is auto-destroyed; the socket tells.
      if (this.abort.signal.aborted || res.destroyed || req.socket.destroyed) {
        res.destroy();
        return;
      }
      let s3: S3Error;
      if (err instanceof S3Error) s3 = err;
      else if (err instanceof ObsqError && err.code === 'OBSQ_VALIDATION') {
        s3 = new S3Error('InvalidArgument', err.message, { cause: err });
      } else {
        s3 = new S3Error('InternalError', undefined, { cause: err });
        logger.error({ err: coerceError(err), op: ctx.op, requestId: ctx.requestId }, 'devstack request failed');
      }
      await drainBody(ctx);
      sendError(ctx, s3);
    } finally {
      logger.debug(
        { op: ctx.op, method: ctx.method, status: res.statusCode, ms: Math.round(performance.now() - started), requestId: ctx.requestId },
        'obs request',
      );
    }
  }
}

/** Reads `afterBytes` of the body (or all of a shorter one), then destroys the socket unanswered. */
async function resetAfter(ctx: RequestContext, afterBytes: number): Promise<void> {
  const { req } = ctx;
  const socket = req.socket;
  await new Promise<void>((resolve) => {
    socket.once('close', () => resolve());
    if (afterBytes === 0) {
      socket.destroy();
      return;
    }
    let seen = 0;
    req.on('data', (chunk: Buffer) => {
      seen += chunk.length;
      if (seen >= afterBytes) socket.destroy();
    });
    req.once('end', () => socket.destroy());
    req.once('error', () => socket.destroy());
  });
}
