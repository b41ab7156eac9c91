import { Cluster, Redis, type RedisOptions } from 'ioredis';
import type { RedisConfig } from '../config/index.js';
import { coerceError } from '../errors/index.js';
import type { Logger } from '../logging/index.js';

/**
 * What a connection is for. `worker`: BullMQ `Worker` (blocking BZPOPMIN/XREAD). `producer`:
 * `Queue`/`FlowProducer` used from request paths.
 */
export type RedisRole = 'worker' | 'producer';

/** A single-node or cluster client. */
export type RedisClient = Redis | Cluster;

/** Longest wait between reconnect attempts, in ms. */
export const REDIS_MAX_RETRY_DELAY_MS = 10_000;

/**
 * Reconnect delay for attempt `times` (1-based), in ms: 100, 200, 400, ... capped at 10 s. Never gives
 * up: a worker must come back by itself when Redis does.
 */
export function redisRetryDelayMs(times: number): number {
  return Math.min(100 * 2 ** Math.max(0, times - 1), REDIS_MAX_RETRY_DELAY_MS);
}

/**
 * After a failover the old primary answers `READONLY` until we reconnect to the new one; a restarting
 * Redis answers `LOADING` while it reads its dataset. In both cases the command did not run, so
 * reconnecting and resending it (2) is safe.
 */
export function redisReconnectOnError(err: Error): 2 | false {
  return /^(READONLY|LOADING)\b/.test(err.message) ? 2 : false;
}

/** ioredis options for a role (without host/port), each with the reason it is set. */
export function redisOptionsFor(role: RedisRole): RedisOptions {
  const blocking = role === 'worker';
  return {
    connectionName: `obsq:${role}`,
    // Blocking BullMQ connections must never give up on a command: BullMQ requires null and would
    // override anything else with a warning. Producers fail fast after one retry so an enqueue in a
    // request path errors out instead of hanging while Redis is down.
    maxRetriesPerRequest: blocking ? null : 1,
    // Producers do not queue commands while disconnected (fail fast, the caller decides); blocking
    // roles queue them and send them once reconnected.
    enableOfflineQueue: blocking,
    retryStrategy: redisRetryDelayMs,
    reconnectOnError: redisReconnectOnError,
  };
}

interface ParsedNode {
  host: string;
  port: number;
  username?: string;
  password?: string;
  db?: number;
  tls: boolean;
}

function parseRedisUrl(url: string): ParsedNode {
  const u = new URL(url);
  const db = u.pathname.length > 1 ? Number(u.pathname.slice(1)) : undefined;
  return {
    host: u.hostname.replace(/^\[|\]$/g, ''),
    port: u.port === '' ? 6379 : Number(u.port),
    ...(u.username === '' ? {} : { username: decodeURIComponent(u.username) }),
    ...(u.password === '' ? {} : { password: decodeURIComponent(u.password) }),
    ...(db === undefined || Number.isNaN(db) ? {} : { db }),
    tls: u.protocol === 'rediss:',
  };
}

/**
 * Creates a Redis connection for a role (house style 10): role-specific retry settings, bounded
 * exponential reconnects, reconnect on READONLY/LOADING, and an `'error'` listener attached at once
 * (an EventEmitter without one crashes the process). A Cluster client when `cfg.cluster` is set,
 * seeded with every URL.
 *
 * Do not set ioredis `keyPrefix`: BullMQ uses its own `prefix` (`cfg.prefix`).
 */
export function createRedis(role: RedisRole, cfg: Pick<RedisConfig, 'urls' | 'cluster'>, logger: Logger): RedisClient {
  const log = logger.child({ component: 'redis', role });
  const { retryStrategy, enableOfflineQueue, ...perNode } = redisOptionsFor(role);
  const nodes = cfg.urls.map(parseRedisUrl);
  const first = nodes[0];
  if (first === undefined) throw new TypeError('createRedis: cfg.urls is empty');

  const auth = {
    ...(first.username === undefined ? {} : { username: first.username }),
    ...(first.password === undefined ? {} : { password: first.password }),
    ...(first.tls ? { tls: {} } : {}),
  };

  let client: RedisClient;
  if (cfg.cluster) {
    client = new Cluster(
      nodes.map((n) => ({ host: n.host, port: n.port })),
      {
        clusterRetryStrategy: retryStrategy,
        enableOfflineQueue,
        redisOptions: { ...perNode, ...auth },
      },
    );
  } else {
    client = new Redis({
      host: first.host,
      port: first.port,
      ...(first.db === undefined ? {} : { db: first.db }),
      ...auth,
      ...perNode,
      retryStrategy,
      enableOfflineQueue,
    });
  }

  // Without this listener a connection error is an unhandled 'error' event and kills the process.
  client.on('error', (err: unknown) => {
    log.warn({ err: coerceError(err) }, 'redis connection error');
  });
  client.on('reconnecting', (delayMs: unknown) => {
    log.debug({ delayMs }, 'redis reconnecting');
  });
  return client;
}

/**
 * Closes a connection politely (QUIT, so replies in flight arrive) and resolves once it has ended,
 * falling back to a hard disconnect if QUIT fails or takes longer than `timeoutMs`.
 * @defaultValue timeoutMs 2000
 */
export async function quitRedis(client: RedisClient, timeoutMs = 2_000): Promise<void> {
  if (client.status === 'end') return;
  const ended = new Promise<void>((resolve) => client.once('end', () => resolve()));
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      client.quit().then(() => ended),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error('quit timed out')), timeoutMs);
        timer.unref();
      }),
    ]);
  } catch {
    client.disconnect();
    await ended;
  } finally {
    if (timer !== undefined) clearTimeout(timer);
  }
}
