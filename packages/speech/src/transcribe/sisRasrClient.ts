import type { IncomingMessage } from 'node:http';
import { pino, type Logger } from 'pino';
import { WebSocket, type RawData } from 'ws';
import { ConfigError, ObsqError, coerceError, parseRetryAfter } from '@obsq/shared';
import {
  SIS_AUDIO_FORMAT_INFO,
  parseServerMessage,
  signWebsocketHandshake,
  type SisSegment,
  type SisServerMessage,
  type SisStartConfig,
} from '../sis/index.js';
import { bufferAudioRange, type AudioRange } from '../audio/index.js';
import { audioFrames } from './audioFrames.js';
import { defaultFrameBytes } from './framePlan.js';
import { sisError, transportError } from './sisErrors.js';

/** RASR recognition modes, i.e. the last path segment of the WebSocket URL (spec §1.1). */
export type SisRasrMode = 'short-stream' | 'sentence-stream' | 'continue-stream';

/** Options of {@link SisRasrClient}. Secrets (`sk`, `token`) are never logged. */
export interface SisRasrClientOptions {
  /**
   * Base WebSocket URL, without path: `wss://host[:port]`.
   * @defaultValue `wss://sis-ext.{region}.myhuaweicloud.com`
   */
  endpoint?: string;
  /** Region, e.g. `cn-north-4`; needed only to derive the default `endpoint`. */
  region?: string;
  /** Project id of the endpoint's region (one per region). Required. */
  projectId: string;
  /** Access key id for SDK-HMAC-SHA256 signing; give `ak`+`sk` or `token`. */
  ak?: string;
  /** Secret access key. */
  sk?: string;
  /** IAM project-scoped token, sent as `X-Auth-Token` (instead of AK/SK). */
  token?: string;
  /** Extra handshake headers (signed with AK/SK), e.g. `Enterprise-Project-Id`. */
  headers?: Record<string, string>;
  /**
   * Longest wait for the WebSocket upgrade (TCP + TLS + 101), in ms.
   * @defaultValue 10000
   */
  connectTimeoutMs?: number;
  /**
   * Longest wait for one server reply (the START response; the next message while waiting for
   * END) and for one audio frame to be written to the socket, in ms.
   * @defaultValue 10000
   */
  readTimeoutMs?: number;
  /**
   * Longest total wait for the END response after sending END, in ms (the server may still be
   * working through buffered audio; each message also restarts the `readTimeoutMs` clock).
   * @defaultValue 60000
   */
  endTimeoutMs?: number;
  /**
   * Bytes per binary audio frame; clamped to SIS's limits (8 kHz: 160–32768, 16 kHz: 320–65536)
   * and rounded down to whole samples.
   * @defaultValue 3200 for 16 kHz formats, 1600 for 8 kHz (100 ms of 16-bit audio)
   */
  frameBytes?: number;
  /**
   * Real-time factor of streaming: 1 sends audio as fast as it plays, 2 twice as fast, 0 sends
   * without pacing (only socket back-pressure slows it down).
   * @defaultValue 1
   */
  pace?: number;
  /**
   * Recognition mode.
   * @defaultValue 'continue-stream'
   */
  mode?: SisRasrMode;
  /** Logger for session events (no secrets are logged). @defaultValue a silent logger */
  logger?: Logger;
}

/** Per-session options of {@link SisRasrClient.recognize}. */
export interface SisRecognizeOptions {
  /** Aborts the session: the socket is terminated and the call rejects with `OBSQ_ABORTED`. */
  signal?: AbortSignal;
  /** Called with the session's `trace_id` once START is acknowledged. */
  onStart?(traceId: string): void;
  /** Called for every final segment as it arrives (times relative to this session). */
  onFinal?(segment: SisSegment): void;
  /** Called whenever the interim hypothesis changes. */
  onInterim?(segment: SisSegment): void;
  /** Called with the total bytes of `audio` sent so far, after each frame. */
  onAudioSent?(bytes: number): void;
}

/** Outcome of one recognition session. */
export interface SisSessionResult {
  traceId: string;
  /** Final segments in arrival order; times are ms relative to the start of the audio sent. */
  segments: SisSegment[];
  /** `reason` of the END response (`NORMAL`, `CANCEL`, ...). */
  endReason: string;
  /** EVENT names received, in order. */
  events: string[];
  /** Bytes of `audio` sent; less than its length when a VAD/limit event stopped the stream. */
  audioBytesSent: number;
}

const DEFAULTS = {
  connectTimeoutMs: 10_000,
  readTimeoutMs: 10_000,
  endTimeoutMs: 60_000,
  pace: 1,
  mode: 'continue-stream' as SisRasrMode,
} satisfies Partial<SisRasrClientOptions>;

const MODES: readonly SisRasrMode[] = ['short-stream', 'sentence-stream', 'continue-stream'];
/** Events after which SIS ignores further audio (spec §5.2). */
const STOP_EVENTS = new Set(['VOICE_END', 'EXCEEDED_SILENCE', 'EXCEEDED_AUDIO']);
const MAX_ERROR_BODY_BYTES = 16 * 1024;
const CLOSE_GRACE_MS = 1_000;

function positiveInt(name: string, value: number): number {
  if (!Number.isInteger(value) || value <= 0) throw new ConfigError(`${name} must be a positive integer (ms)`);
  return value;
}

interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
}

function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

/**
 * Client of Huawei SIS real-time ASR (RASR) over WebSocket. One {@link recognize} call is one
 * connection and one session: connect (signed upgrade) → START → wait for START → paced binary
 * frames → END → wait for END → close. Every wait is bounded, so a silent or vanished server
 * costs at most the configured timeouts plus the audio's length divided by `pace`.
 */
export class SisRasrClient {
  readonly options: Readonly<Required<Omit<SisRasrClientOptions, 'ak' | 'sk' | 'token' | 'region' | 'frameBytes' | 'logger' | 'headers'>>> & {
    frameBytes: number | undefined;
  };
  readonly #auth: { ak: string; sk: string } | { token: string };
  readonly #headers: Record<string, string>;
  readonly #log: Logger;

  constructor(options: SisRasrClientOptions) {
    const defined = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) as SisRasrClientOptions;
    const opts = { ...DEFAULTS, ...defined };
    if (!opts.projectId) throw new ConfigError('projectId is required');
    if (!/^[\w-]+$/.test(opts.projectId)) throw new ConfigError('projectId must contain only letters, digits, _ and -');
    const endpoint = (opts.endpoint ?? (opts.region ? `wss://sis-ext.${opts.region}.myhuaweicloud.com` : '')).replace(/\/+$/, '');
    if (!endpoint) throw new ConfigError('endpoint or region is required');
    let parsed: URL;
    try {
      parsed = new URL(endpoint);
    } catch (err) {
      throw new ConfigError(`endpoint must be a ws:// or wss:// URL, got ${JSON.stringify(endpoint)}`, { cause: err });
    }
    if (parsed.protocol !== 'ws:' && parsed.protocol !== 'wss:') {
      throw new ConfigError(`endpoint must be a ws:// or wss:// URL, got ${JSON.stringify(endpoint)}`);
    }
    if (opts.ak && opts.sk) this.#auth = { ak: opts.ak, sk: opts.sk };
    else if (opts.token) this.#auth = { token: opts.token };
    else throw new ConfigError('ak and sk, or token, are required');
    if (!MODES.includes(opts.mode)) throw new ConfigError(`mode must be one of ${MODES.join(', ')}`);
    if (!(Number.isFinite(opts.pace) && opts.pace >= 0)) throw new ConfigError('pace must be a number >= 0 (0 = no pacing)');
    if (opts.frameBytes !== undefined && !(Number.isInteger(opts.frameBytes) && opts.frameBytes > 0)) {
      throw new ConfigError('frameBytes must be a positive integer (bytes)');
    }
    this.options = {
      endpoint,
      projectId: opts.projectId,
      connectTimeoutMs: positiveInt('connectTimeoutMs', opts.connectTimeoutMs),
      readTimeoutMs: positiveInt('readTimeoutMs', opts.readTimeoutMs),
      endTimeoutMs: positiveInt('endTimeoutMs', opts.endTimeoutMs),
      pace: opts.pace,
      mode: opts.mode,
      frameBytes: opts.frameBytes,
    };
    this.#headers = { ...opts.headers };
    this.#log = opts.logger ?? pino({ level: 'silent' });
  }

  /** The WebSocket URL of `mode`: `{endpoint}/v1/{projectId}/rasr/{mode}` (no trailing slash). */
  url(mode: SisRasrMode = this.options.mode): string {
    return `${this.options.endpoint}/v1/${this.options.projectId}/rasr/${mode}`;
  }

  /**
   * Runs one session over `audio` (headerless, in `config.audio_format`): a Buffer, or an
   * `AudioRange` (e.g. part of a file) read frame by frame as the session sends it.
   * @throws ObsqError `OBSQ_SIS` for ERROR/FATAL_ERROR or a refused upgrade (`details` has
   *   `error_code`/`error_msg`; permanent for APIGW.0301 and caller mistakes), `OBSQ_TIMEOUT`
   *   and `OBSQ_NETWORK` (retryable), `OBSQ_ABORTED`.
   */
  async recognize(
    audio: Buffer | AudioRange,
    config: SisStartConfig,
    opts: SisRecognizeOptions & { mode?: SisRasrMode } = {},
  ): Promise<SisSessionResult> {
    const mode = opts.mode ?? this.options.mode;
    const url = this.url(mode);
    const log = this.#log.child({ component: 'sis-rasr', mode });
    if (opts.signal?.aborted) throw abortError(opts.signal);
    const ws = await this.#connect(url, opts.signal, log);
    try {
      return await this.#session(ws, Buffer.isBuffer(audio) ? bufferAudioRange(audio) : audio, config, opts, log);
    } finally {
      await closeSocket(ws);
    }
  }

  #handshakeHeaders(url: string): Record<string, string> {
    if ('token' in this.#auth) return { ...this.#headers, 'X-Auth-Token': this.#auth.token };
    return signWebsocketHandshake({ url, ak: this.#auth.ak, sk: this.#auth.sk, headers: this.#headers });
  }

  #connect(url: string, signal: AbortSignal | undefined, log: Logger): Promise<WebSocket> {
    const timeoutMs = this.options.connectTimeoutMs;
    return new Promise<WebSocket>((resolve, reject) => {
      const ws = new WebSocket(url, {
        headers: this.#handshakeHeaders(url),
        handshakeTimeout: timeoutMs,
        perMessageDeflate: false,
        followRedirects: false,
        maxPayload: 16 * 1024 * 1024,
      });
      let settled = false;
      const settle = (err: Error | undefined) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        if (err) {
          ws.terminate();
          reject(err);
        } else {
          resolve(ws);
        }
      };
      const timer = setTimeout(
        () => settle(transportError('OBSQ_TIMEOUT', `SIS connect timed out after ${timeoutMs} ms`, { url, phase: 'connect' })),
        timeoutMs,
      );
      const onAbort = () => settle(abortError(signal!));
      signal?.addEventListener('abort', onAbort, { once: true });
      // Stays attached for the socket's life: ws emits 'error' (e.g. on terminate while
      // connecting) and an unhandled 'error' would crash the process.
      ws.on('error', (err) => {
        log.debug({ err }, 'sis socket error');
        settle(transportError('OBSQ_NETWORK', `SIS connection failed: ${err.message}`, { url, phase: 'connect' }, err));
      });
      ws.once('open', () => settle(undefined));
      ws.once('unexpected-response', (_req, res) => {
        readBody(res, MAX_ERROR_BODY_BYTES).then(
          (body) => settle(handshakeError(res.statusCode ?? 0, body, res.headers['retry-after'])),
          (err: unknown) => settle(handshakeError(res.statusCode ?? 0, '', res.headers['retry-after'], err)),
        );
      });
    });
  }

  async #session(
    ws: WebSocket,
    audio: AudioRange,
    config: SisStartConfig,
    opts: SisRecognizeOptions,
    log: Logger,
  ): Promise<SisSessionResult> {
    const { readTimeoutMs, endTimeoutMs, pace } = this.options;
    const format = config.audio_format;
    const info = SIS_AUDIO_FORMAT_INFO[format];
    const signal = opts.signal;

    let failure: Error | undefined;
    const failWaiters = new Set<(err: Error) => void>();
    let onActivity: (() => void) | undefined;
    let traceId = '';
    let endReason: string | undefined;
    let stopAudio = false;
    const started = deferred<void>();
    const ended = deferred<void>();
    const finals: SisSegment[] = [];
    const events: string[] = [];
    let interim: SisSegment | undefined;

    const fail = (err: Error) => {
      if (failure || endReason !== undefined) return;
      failure = err;
      for (const w of [...failWaiters]) w(err);
    };
    /** Resolves with `p`, or rejects on session failure, abort or after `timeoutMs`. */
    const race = <T>(p: Promise<T>, timeoutMs: number | undefined, onTimeout: () => Error): Promise<T> =>
      new Promise<T>((resolve, reject) => {
        if (failure) return reject(failure);
        let timer: NodeJS.Timeout | undefined;
        const done = () => {
          clearTimeout(timer);
          failWaiters.delete(onFail);
        };
        const onFail = (err: Error) => {
          done();
          reject(err);
        };
        failWaiters.add(onFail);
        if (timeoutMs !== undefined) timer = setTimeout(() => onFail(onTimeout()), timeoutMs);
        p.then(
          (v) => {
            done();
            resolve(v);
          },
          (err: unknown) => onFail(coerceError(err)),
        );
      });
    const ctx = () => ({ url: ws.url, trace_id: traceId || undefined });

    const onMessage = (data: RawData, isBinary: boolean) => {
      if (isBinary) {
        log.debug('ignoring a binary frame from SIS');
        return;
      }
      let msg: SisServerMessage;
      try {
        msg = parseServerMessage(rawText(data));
      } catch (err) {
        fail(coerceError(err));
        return;
      }
      onActivity?.();
      switch (msg.resp_type) {
        case 'START':
          traceId = msg.trace_id;
          log.debug({ traceId }, 'sis session started');
          opts.onStart?.(traceId);
          started.resolve();
          break;
        case 'RESULT':
          for (const seg of msg.segments) {
            if (seg.is_final) {
              interim = undefined;
              finals.push(seg);
              log.debug({ traceId, startTime: seg.start_time, endTime: seg.end_time }, 'sis final segment');
              opts.onFinal?.(seg);
            } else {
              interim = seg;
              opts.onInterim?.(seg);
            }
          }
          break;
        case 'EVENT':
          events.push(msg.event);
          log.info({ traceId, event: msg.event, timestamp: msg.timestamp }, 'sis event');
          if (STOP_EVENTS.has(msg.event)) stopAudio = true;
          break;
        case 'END':
          if (msg.reason === 'ERROR') {
            fail(sisError({ error_code: 'SIS.0100', error_msg: 'session ended with reason ERROR', trace_id: msg.trace_id, source: 'ERROR' }));
            break;
          }
          endReason = msg.reason;
          ended.resolve();
          break;
        case 'ERROR':
        case 'FATAL_ERROR':
          log.warn({ traceId: msg.trace_id ?? traceId, code: msg.error_code, respType: msg.resp_type }, 'sis error');
          fail(
            sisError({
              error_code: msg.error_code,
              error_msg: msg.error_msg,
              ...(msg.trace_id ?? traceId ? { trace_id: msg.trace_id ?? traceId } : {}),
              source: msg.resp_type,
            }),
          );
          break;
      }
    };
    const onClose = (code: number, reason: Buffer) => {
      fail(
        transportError('OBSQ_NETWORK', `SIS closed the connection unexpectedly (code ${code}${reason.length ? `, ${reason.toString()}` : ''})`, {
          ...ctx(),
          close_code: code,
        }),
      );
    };
    const onError = (err: Error) => fail(transportError('OBSQ_NETWORK', `SIS connection error: ${err.message}`, ctx(), err));
    const onAbort = () => fail(abortError(signal!));
    ws.on('message', onMessage);
    ws.on('close', onClose);
    ws.on('error', onError);
    signal?.addEventListener('abort', onAbort, { once: true });
    if (signal?.aborted) onAbort();

    try {
      await race(send(ws, JSON.stringify({ command: 'START', config })), readTimeoutMs, () =>
        transportError('OBSQ_TIMEOUT', `SIS did not accept the START command within ${readTimeoutMs} ms`, ctx()),
      );
      await race(started.promise, readTimeoutMs, () =>
        transportError('OBSQ_TIMEOUT', `SIS did not answer START within ${readTimeoutMs} ms`, { ...ctx(), phase: 'start' }),
      );

      const bytesPerMs = (info.sampleRate * info.bytesPerSample) / 1000;
      const t0 = performance.now();
      let sent = 0;
      // Frames are read from `audio` one at a time (a file range holds one read chunk), so a
      // session over hours of audio needs no more memory than one over seconds.
      for await (const frame of audioFrames(audio, format, this.options.frameBytes ?? defaultFrameBytes(format), signal)) {
        if (stopAudio || endReason !== undefined) break;
        if (failure) throw failure;
        if (pace > 0) {
          const wait = t0 + frame.start / bytesPerMs / pace - performance.now();
          if (wait > 1) await race(sleep(wait), undefined, () => new Error('unreachable'));
        }
        await race(send(ws, frame.data), readTimeoutMs, () =>
          transportError('OBSQ_TIMEOUT', `writing audio to SIS stalled for ${readTimeoutMs} ms`, { ...ctx(), phase: 'audio', bytes_sent: sent }),
        );
        sent = frame.end;
        opts.onAudioSent?.(sent);
      }

      if (endReason === undefined) {
        await race(send(ws, JSON.stringify({ command: 'END', cancel: false })), readTimeoutMs, () =>
          transportError('OBSQ_TIMEOUT', `SIS did not accept the END command within ${readTimeoutMs} ms`, ctx()),
        );
        // Waits for END, bounded twice: no gap between server messages over readTimeoutMs, and
        // no more than endTimeoutMs in all.
        let idle: NodeJS.Timeout | undefined;
        const armIdle = () => {
          clearTimeout(idle);
          idle = setTimeout(
            () => fail(transportError('OBSQ_TIMEOUT', `SIS sent nothing for ${readTimeoutMs} ms while finishing`, { ...ctx(), phase: 'end' })),
            readTimeoutMs,
          );
        };
        onActivity = armIdle;
        armIdle();
        try {
          await race(ended.promise, endTimeoutMs, () =>
            transportError('OBSQ_TIMEOUT', `SIS did not send END within ${endTimeoutMs} ms`, { ...ctx(), phase: 'end' }),
          );
        } finally {
          onActivity = undefined;
          clearTimeout(idle);
        }
      }
      if (failure) throw failure;
      log.debug({ traceId, segments: finals.length, endReason, interimDropped: interim !== undefined }, 'sis session ended');
      return { traceId, segments: finals, endReason: endReason ?? 'NORMAL', events, audioBytesSent: sent };
    } finally {
      signal?.removeEventListener('abort', onAbort);
      ws.off('message', onMessage);
      ws.off('close', onClose);
      ws.off('error', onError);
    }
  }
}

function abortError(signal: AbortSignal): ObsqError {
  return new ObsqError('OBSQ_ABORTED', 'SIS transcription aborted', { cause: signal.reason });
}

function rawText(data: RawData): string {
  if (Buffer.isBuffer(data)) return data.toString('utf8');
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.from(data).toString('utf8');
}

function send(ws: WebSocket, data: string | Buffer): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    ws.send(data, { binary: typeof data !== 'string' }, (err) => (err ? reject(err) : resolve()));
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Reads at most `limit` bytes of a (refused-upgrade) response body. */
function readBody(res: IncomingMessage, limit: number): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    res.on('data', (c: Buffer) => {
      if (size < limit) chunks.push(c.subarray(0, limit - size));
      size += c.length;
    });
    res.once('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    res.once('error', reject);
    res.once('aborted', () => resolve(Buffer.concat(chunks).toString('utf8')));
  });
}

/**
 * Error for a non-101 answer to the upgrade. APIG bodies look like
 * `{"error_code":"APIGW.0301","error_msg":"Incorrect IAM authentication information: …"}`.
 * 401/403 and other 4xx (except 408/429) are permanent; 5xx, 408 and 429 are retryable; 429 and
 * 503 are back-pressure, with their `Retry-After`.
 */
function handshakeError(status: number, body: string, retryAfter: string | undefined, cause?: unknown): ObsqError {
  let code: string | undefined;
  let msg: string | undefined;
  let requestId: string | undefined;
  try {
    const json = JSON.parse(body) as Record<string, unknown>;
    if (typeof json.error_code === 'string') code = json.error_code;
    if (typeof json.error_msg === 'string') msg = json.error_msg;
    if (typeof json.request_id === 'string') requestId = json.request_id;
  } catch {
    // Not JSON: keep the status-derived defaults.
  }
  if (status === 401) code ??= 'APIGW.0301';
  code ??= `HTTP.${status}`;
  msg ??= body.trim().slice(0, 200) || `WebSocket upgrade refused with HTTP ${status}`;
  const permanent = status >= 400 && status < 500 && status !== 408 && status !== 429;
  const retryAfterMs = parseRetryAfter(retryAfter);
  return sisError(
    {
      error_code: code,
      error_msg: msg,
      http_status: status,
      source: 'HANDSHAKE',
      ...(requestId ? { request_id: requestId } : {}),
      ...(retryAfterMs === undefined ? {} : { retry_after_ms: retryAfterMs }),
    },
    { permanent, cause },
  );
}

/** Closes politely (1000), then terminates if the peer does not finish the close handshake quickly. */
function closeSocket(ws: WebSocket): Promise<void> {
  if (ws.readyState === WebSocket.CLOSED) return Promise.resolve();
  return new Promise<void>((resolve) => {
    const timer = setTimeout(() => ws.terminate(), CLOSE_GRACE_MS);
    ws.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
    if (ws.readyState === WebSocket.OPEN) ws.close(1000);
    else if (ws.readyState === WebSocket.CONNECTING) ws.terminate();
  });
}
