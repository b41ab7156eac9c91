import type { Logger } from 'pino';
import { ConfigError } from '@obsq/shared';

/** Test-only faults of the SIS server. Each applies to connections opened after it is set. */
export interface SisServerFaults {
  /**
   * Destroy the TCP socket (no close frame, no END) once a connection has received this many
   * audio bytes in total, to test a client's resume. Unset: never.
   */
  dropAfterAudioBytes?: number;
  /**
   * How many connections `dropAfterAudioBytes` applies to, counted server-wide; later
   * connections behave normally so a resumed client can finish.
   * @defaultValue 1
   */
  dropConnections?: number;
  /**
   * Accept START, then never send anything on that connection (no START response, no results,
   * no idle FATAL_ERROR), to test a client's timeouts. The socket stays open until either side closes.
   * @defaultValue false
   */
  silent?: boolean;
  /**
   * Refuse WebSocket upgrades as a throttled gateway does (HTTP 429 `APIGW.0308`, or 503), with
   * `Retry-After`, to test that clients treat it as back-pressure. Applies to authenticated
   * upgrades only, to the next `connections` of them (server-wide).
   */
  throttle?: {
    /** @defaultValue 429 */
    status?: 429 | 503;
    /** `Retry-After` header, in seconds; omitted when unset. */
    retryAfterSeconds?: number;
    /** How many upgrades to refuse. @defaultValue every one while set */
    connections?: number;
  };
  /**
   * A concurrency limit: while this many connections are open, further upgrades get HTTP 429
   * `APIGW.0308` with `Retry-After: 1`. Unset: no limit.
   */
  maxConnections?: number;
}

/** Options of {@link startSisServer}. */
export interface SisServerOptions {
  /** TCP port; 0 picks a free one. @defaultValue 0 */
  port?: number;
  /** Listen address. @defaultValue "127.0.0.1" */
  host?: string;
  /** The only project id accepted in `/v1/{project_id}/rasr/…`. */
  projectId: string;
  /** Region name reported back (the server itself is region-less). */
  region: string;
  /** The one access key id accepted for SDK-HMAC-SHA256 handshakes. */
  ak: string;
  /** Its secret key. */
  sk: string;
  /** When set, `X-Auth-Token` with exactly this value is accepted too. */
  token?: string;
  /**
   * A connection that sends no frame for this long gets FATAL_ERROR SIS.0304 and is closed, in ms.
   * The timer is paused while the server is finishing a session after END.
   * @defaultValue 20000
   */
  idleTimeoutMs?: number;
  /** Connections are closed after this long, in ms. @defaultValue 18000000 (5 h) */
  maxConnectionMs?: number;
  /**
   * Emit VOICE_START / VOICE_END around each sentence in continue-stream too (the real service
   * documents none there, but clients must tolerate them). sentence-stream always emits them.
   * @defaultValue false
   */
  vadEvents?: boolean;
  /** pino logger; the server logs connection and session lifecycle, never headers. @defaultValue silent */
  logger?: Logger;
  /** Test-only fault injection; change later with `setFaults`. */
  faults?: SisServerFaults;
  /**
   * PocketSphinx binary. When set, each session runs its own process of it (no warm engines).
   * @defaultValue warm engines (see `engines`), else "pocketsphinx_continuous" on PATH
   */
  engineBinary?: string;
  /**
   * Warm engines at most: sessions beyond this many wait for a free one before START is
   * answered. Started on first use, model loaded once each.
   * @defaultValue 8
   */
  engines?: number;
}

/** Defaults applied before validation. */
export const SIS_SERVER_DEFAULTS = {
  port: 0,
  host: '127.0.0.1',
  idleTimeoutMs: 20_000,
  maxConnectionMs: 5 * 60 * 60 * 1000,
  vadEvents: false,
  engines: 8,
} as const satisfies Partial<SisServerOptions>;


/** Options after defaults. */
export type ResolvedSisServerOptions = SisServerOptions & Required<Pick<SisServerOptions, keyof typeof SIS_SERVER_DEFAULTS>>;

/** Spreads defaults and checks every option; throws ConfigError naming the option. */
export function resolveSisServerOptions(opts: SisServerOptions): ResolvedSisServerOptions {
  const o = { ...SIS_SERVER_DEFAULTS, ...opts };
  const nonEmpty = (name: string, v: unknown) => {
    if (typeof v !== 'string' || v === '') throw new ConfigError(`${name} must be a non-empty string`);
  };
  nonEmpty('projectId', o.projectId);
  nonEmpty('region', o.region);
  nonEmpty('ak', o.ak);
  nonEmpty('sk', o.sk);
  if (o.token !== undefined) nonEmpty('token', o.token);
  if (!Number.isInteger(o.port) || o.port < 0 || o.port > 65535) throw new ConfigError('port must be an integer in 0..65535');
  if (!Number.isInteger(o.idleTimeoutMs) || o.idleTimeoutMs <= 0) throw new ConfigError('idleTimeoutMs must be a positive integer');
  // setTimeout fires at once for delays above 2^31 - 1 ms (about 24.8 days).
  if (!Number.isInteger(o.maxConnectionMs) || o.maxConnectionMs <= 0 || o.maxConnectionMs > 2 ** 31 - 1) {
    throw new ConfigError('maxConnectionMs must be a positive integer of at most 2147483647');
  }
  if (o.idleTimeoutMs > 2 ** 31 - 1) throw new ConfigError('idleTimeoutMs must be at most 2147483647');
  if (!Number.isInteger(o.engines) || o.engines <= 0) throw new ConfigError('engines must be a positive integer');
  const drop = o.faults?.dropAfterAudioBytes;
  if (drop !== undefined && (!Number.isInteger(drop) || drop < 0)) throw new ConfigError('faults.dropAfterAudioBytes must be a non-negative integer');
  return o;
}
