import type { LookupFunction } from 'node:net';
import type { Dispatcher } from 'undici';
import type { StorageOperation } from './operations.js';
import type { BackoffOptions } from './retry.js';
import type { Credentials, SignatureMode } from './signing/index.js';

/** One HTTP attempt, reported to {@link ObsClientOptions.onRequest} (for metrics; no secrets). */
export interface StorageRequestEvent {
  /** Operation name, e.g. `UploadPart`. */
  operation: StorageOperation;
  method: string;
  /** HTTP status; 0 when no response came back. */
  status: number;
  /** '' on success. */
  errorCode: string;
  /** Time to response headers (or failure), in ms. */
  durationMs: number;
  /** 1-based attempt number within this call. */
  attempt: number;
  /** True when the client will try again. */
  willRetry: boolean;
}

/** Minimal logger the client reports listener failures to (pino fits). */
export interface StorageLogger {
  warn(obj: object, msg: string): void;
}

/** Options of `ObsClient`. Defaults are in `OBS_CLIENT_DEFAULTS`. */
export interface ObsClientOptions {
  /** Service endpoint, `http://` or `https://` (`https://obs.cn-north-4.myhuaweicloud.com`), no path. */
  endpoint: string;
  /**
   * Region for the V4 credential scope and bucket creation.
   * @defaultValue 'us-east-1'
   */
  region?: string;
  /**
   * Signature mode. `obs` needs virtual-hosted addressing (a hostname endpoint).
   * @defaultValue 'obs'
   */
  signature?: SignatureMode;
  /**
   * Path-style addressing (`host/bucket/key`). Forced on for IP-literal and `localhost`
   * endpoints, as the SDKs do.
   * @defaultValue false
   */
  pathStyle?: boolean;
  /** Access keys, or a function returning them (called on every attempt, so keys can rotate). */
  credentials: Credentials | (() => Credentials);
  /**
   * Server family, for what differs beyond header prefixes: SSE-KMS header names, bucket location
   * XML, the `x-obs-uploadId` check after an ambiguous Complete. Header prefixes follow the
   * signature (`x-obs-` for `obs`, `x-amz-` for `v2`/`v4`).
   * @defaultValue 'obs' with signature 'obs', else 's3'
   */
  flavour?: 'obs' | 's3';
  /**
   * Attempts per call (first try included) for transport faults and retryable statuses, on
   * calls whose body can be replayed.
   * @defaultValue 3
   */
  maxAttempts?: number;
  /**
   * Inactivity timeout per attempt, in ms: waiting for response headers, and between body chunks.
   * @defaultValue 60000
   */
  timeoutMs?: number;
  /** TCP/TLS connect timeout, in ms. @defaultValue 10000 */
  connectTimeoutMs?: number;
  /** Maximum connections per origin in the client's pool. @defaultValue 16 */
  connections?: number;
  /** How long an idle keep-alive connection is kept, in ms. @defaultValue 4000 */
  keepAliveTimeoutMs?: number;
  /**
   * An undici Dispatcher to send through (e.g. `MockAgent` in tests). The caller owns it:
   * `close()` does not close it. @defaultValue one keep-alive `Agent` per client
   */
  dispatcher?: Dispatcher;
  /**
   * Address to connect to whatever the Host header says, e.g. `127.0.0.1`, so virtual-hosted
   * requests (`Host: bucket.obs.localhost:9000`) reach a local server.
   * @defaultValue '127.0.0.1' for `*.localhost` endpoints, else none (the Host name is resolved)
   */
  connectAddress?: string;
  /** DNS lookup for the client's own Agent (ignored with `dispatcher`). @defaultValue dns.lookup */
  lookup?: LookupFunction;
  /**
   * Backoff between the client's own retries. `Retry-After` is honoured up to `maxMs`.
   * @defaultValue { baseMs: 100, maxMs: 5000, jitter: 'full' }
   */
  retryBackoff?: Pick<BackoffOptions, 'baseMs' | 'maxMs' | 'jitter'>;
  /** Called after every HTTP attempt (metrics). A throwing listener is logged, not fatal. */
  onRequest?: (event: StorageRequestEvent) => void;
  /** Where listener failures go. @defaultValue none (they are dropped) */
  logger?: StorageLogger;
  /** `User-Agent` header (never signed). @defaultValue 'obsq-storage' */
  userAgent?: string;
}

/** Defaults of every optional {@link ObsClientOptions} field that has a plain value. */
export const OBS_CLIENT_DEFAULTS = {
  region: 'us-east-1',
  signature: 'obs',
  pathStyle: false,
  maxAttempts: 3,
  timeoutMs: 60_000,
  connectTimeoutMs: 10_000,
  connections: 16,
  keepAliveTimeoutMs: 4_000,
  retryBackoff: { baseMs: 100, maxMs: 5_000, jitter: 'full' },
  userAgent: 'obsq-storage',
} satisfies Partial<ObsClientOptions>;
