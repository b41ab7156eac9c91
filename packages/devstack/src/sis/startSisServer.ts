import { createServer, type IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { pino } from 'pino';
import { WebSocketServer } from 'ws';
import { coerceError } from '@obsq/shared';
import { EnginePool, engineAvailable } from '@obsq/speech';
import { checkHandshake } from './handshake.js';
import { SisConnection } from './sisConnection.js';
import { resolveSisServerOptions, type SisServerFaults, type SisServerOptions } from './sisServerOptions.js';
import { WarmRecognizers } from './warmRecognizers.js';

/** A running SIS RASR test server. */
export interface SisServer extends AsyncDisposable {
  /** `ws://127.0.0.1:PORT`; append `/v1/{projectId}/rasr/{mode}`. */
  readonly endpoint: string;
  readonly port: number;
  readonly projectId: string;
  readonly region: string;
  /** The accepted access key id (test credentials only). */
  readonly ak: string;
  /** The accepted secret key (test credentials only). */
  readonly sk: string;
  /** Open WebSocket connections right now (to prove clients closed theirs). */
  readonly connectionCount: number;
  /** Replaces the fault settings; applies from the next frame on. */
  setFaults(faults: SisServerFaults): void;
  /** Stops listening, terminates every connection and waits for their engines to exit. Idempotent. */
  close(): Promise<void>;
}

function writeHttpError(socket: Duplex, status: number, body: unknown, retryAfterSeconds?: number): void {
  const text = JSON.stringify(body);
  const reason = { 401: 'Unauthorized', 404: 'Not Found', 429: 'Too Many Requests' }[status] ?? 'Service Unavailable';
  const retryAfter = retryAfterSeconds === undefined ? '' : `Retry-After: ${retryAfterSeconds}\r\n`;
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json\r\n${retryAfter}Content-Length: ${Buffer.byteLength(text)}\r\nConnection: close\r\n\r\n${text}`,
  );
}

const THROTTLED = { error_code: 'APIGW.0308', error_msg: 'The throttling threshold has been reached' };

/**
 * Starts a local stand-in for Huawei SIS real-time ASR (spec §9): the three `/v1/{project_id}/rasr/…`
 * WebSocket routes, AK/SK (SDK-HMAC-SHA256) or X-Auth-Token handshake auth, the START/END
 * protocol with SIS's validation and error codes, and transcription by local PocketSphinx.
 */
export async function startSisServer(options: SisServerOptions): Promise<SisServer> {
  const opts = resolveSisServerOptions(options);
  const logger = (opts.logger ?? pino({ level: 'silent' })).child({ component: 'sis-server' });
  let faults: SisServerFaults = { ...opts.faults };
  let dropsUsed = 0;
  let throttlesUsed = 0;
  const warm = new WarmRecognizers(opts.engineBinary);
  // Warm engines (model loaded once, reused by session after session) unless a custom engine
  // binary is given (tests substitute pocketsphinx_continuous) or the driver cannot be built here;
  // then one process per session with a pre-started spare.
  let pool: EnginePool | undefined;
  const engineReady = engineAvailable(opts.engineBinary ? { binary: opts.engineBinary } : {}).then(async (ok) => {
    if (!ok) {
      logger.warn('PocketSphinx not installed: START will be answered with ERROR SIS.0303');
      return ok;
    }
    if (!opts.engineBinary) {
      pool = await EnginePool.create({ size: opts.engines, logger }).catch((err: unknown) => {
        logger.warn({ err }, 'warm engines unavailable: one PocketSphinx process per session');
        return undefined;
      });
    }
    if (!pool && !closing) warm.prewarm(16000);
    return ok;
  });

  const sockets = new Set<Socket>();
  const connections = new Set<SisConnection>();
  let closing: Promise<void> | undefined;

  const http = createServer((req, res) => {
    // Plain HTTP (no upgrade): tell route hits to upgrade, everything else is unknown.
    const known = /^\/v1\/[^/]+\/rasr\/(short|sentence|continue)-stream$/.test((req.url ?? '').split('?')[0] ?? '');
    res.writeHead(known ? 426 : 404, { 'content-type': 'application/json', connection: 'close' });
    res.end(JSON.stringify({ error_code: known ? 'SIS.0032' : 'APIGW.0101', error_msg: known ? 'WebSocket upgrade required' : 'not found' }));
  });
  http.on('connection', (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  http.on('clientError', (err, socket) => {
    logger.debug({ err }, 'sis http client error');
    socket.destroy();
  });

  // Frames above 64 KiB must reach the protocol check (ERROR), not ws's own 1009 close.
  const wss = new WebSocketServer({ noServer: true, maxPayload: 4 * 1024 * 1024 });
  wss.on('error', (err) => logger.error({ err }, 'sis websocket server error'));

  http.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', (err) => logger.debug({ err }, 'sis upgrade socket error'));
    if (closing) return writeHttpError(socket, 503, { error_code: 'SIS.0302', error_msg: 'server closing' });
    let verdict;
    try {
      verdict = checkHandshake(req, opts);
    } catch (err) {
      logger.error({ err: coerceError(err) }, 'sis handshake check failed');
      return writeHttpError(socket, 503, { error_code: 'SIS.0302', error_msg: 'internal error' });
    }
    if (!verdict.ok) {
      logger.info({ status: verdict.status, code: verdict.body.error_code }, 'sis handshake rejected');
      return writeHttpError(socket, verdict.status, verdict.body);
    }
    const throttle = faults.throttle;
    if (throttle && throttlesUsed < (throttle.connections ?? Infinity)) {
      throttlesUsed++;
      logger.info({ status: throttle.status ?? 429 }, 'sis handshake throttled (fault)');
      return writeHttpError(socket, throttle.status ?? 429, THROTTLED, throttle.retryAfterSeconds);
    }
    if (faults.maxConnections !== undefined && connections.size >= faults.maxConnections) {
      logger.info({ open: connections.size }, 'sis handshake throttled: concurrency limit');
      return writeHttpError(socket, 429, THROTTLED, 1);
    }
    const { mode } = verdict;
    wss.handleUpgrade(req, socket, head, (ws) => {
      logger.debug({ mode, auth: verdict.auth }, 'sis connection opened');
      const conn = new SisConnection(ws, {
        mode,
        options: opts,
        logger,
        engineReady,
        faults: () => faults,
        claimDrop: () => (dropsUsed < (faults.dropConnections ?? 1) ? (dropsUsed++, true) : false),
        takeRecognizer: async (rate, onSegment) => (pool ? pool.acquire({ sampleRate: rate, needWordInfo: true, onSegment }) : warm.take(rate, onSegment)),
      });
      connections.add(conn);
      void conn.closed.then(() => {
        connections.delete(conn);
        logger.debug({ mode }, 'sis connection closed');
      });
    });
  });

  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(opts.port, opts.host, () => {
      http.off('error', reject);
      resolve();
    });
  });
  http.on('error', (err) => logger.error({ err }, 'sis http server error'));
  const address = http.address();
  const port = typeof address === 'object' && address ? address.port : opts.port;
  const hostPart = opts.host.includes(':') ? `[${opts.host}]` : opts.host;

  const close = (): Promise<void> =>
    (closing ??= (async () => {
      const errors: unknown[] = [];
      const stopped = new Promise<void>((resolve) => http.close(() => resolve()));
      try {
        for (const ws of wss.clients) ws.terminate();
        await Promise.all([...connections].map((c) => c.closed));
      } catch (err) {
        errors.push(err);
      }
      try {
        await engineReady;
        await warm.close();
        await pool?.close();
      } catch (err) {
        errors.push(err);
      }
      try {
        await new Promise<void>((resolve, reject) => wss.close((err) => (err ? reject(err) : resolve())));
      } catch (err) {
        errors.push(err);
      }
      for (const s of sockets) s.destroy();
      await stopped;
      if (errors.length) throw new AggregateError(errors, 'sis server close failed');
    })());

  return {
    endpoint: `ws://${hostPart}:${port}`,
    port,
    projectId: opts.projectId,
    region: opts.region,
    ak: opts.ak,
    sk: opts.sk,
    get connectionCount() {
      return connections.size;
    },
    setFaults(next: SisServerFaults) {
      faults = { ...next };
      dropsUsed = 0;
      throttlesUsed = 0;
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}
