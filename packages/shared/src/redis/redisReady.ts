import type { Cluster, Redis } from 'ioredis';
import { ObsqError } from '../errors/index.js';

/**
 * Resolves once the connection is ready. Producer connections queue nothing while offline, so the
 * first command must wait for this; fails with a clear error instead of hanging when Redis is down.
 */
export async function redisReady(client: Redis | Cluster, timeoutMs = 10_000): Promise<void> {
  if (client.status === 'ready') return;
  await new Promise<void>((resolve, reject) => {
    let lastError: unknown;
    const onError = (err: unknown) => (lastError = err);
    const timer = setTimeout(() => {
      cleanup();
      reject(new ObsqError('OBSQ_NETWORK', `Redis not reachable after ${timeoutMs} ms (check OBSQ_REDIS_URL)`, { cause: lastError }));
    }, timeoutMs);
    const onReady = () => {
      cleanup();
      resolve();
    };
    const cleanup = () => {
      clearTimeout(timer);
      client.off('ready', onReady);
      client.off('error', onError);
    };
    client.on('ready', onReady);
    client.on('error', onError);
  });
}
