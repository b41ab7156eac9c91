import type { Cluster, Redis } from 'ioredis';

/**
 * Redis key of a job's cancel flag. It shares the queues' hash tag (`prefix` is `{obsq}`), so the
 * worker can read the flags of a part and of its parent in one MGET on Redis Cluster.
 */
export function cancelFlagKey(prefix: string, jobId: string): string {
  return `${prefix}:cancel:${jobId}`;
}

/**
 * Marks a job cancelled. Workers check the flag of every running attempt (and of its parent) and
 * stop the attempt with `OBSQ_CANCELLED`; an attempt that starts later fails at once. The flag
 * expires with the records (`ttlSeconds`), since no job can still run after that.
 */
export async function setCancelFlag(redis: Redis | Cluster, prefix: string, jobId: string, ttlSeconds: number, reason: string): Promise<void> {
  await redis.set(cancelFlagKey(prefix, jobId), JSON.stringify({ at: Date.now(), reason }), 'EX', ttlSeconds);
}

/** Of the given job ids, those whose cancel flag is set (one MGET; ids must share `prefix`). */
export async function cancelledAmong(redis: Redis | Cluster, prefix: string, jobIds: readonly string[]): Promise<Set<string>> {
  if (jobIds.length === 0) return new Set();
  const values = await redis.mget(...jobIds.map((id) => cancelFlagKey(prefix, id)));
  return new Set(jobIds.filter((_, i) => values[i] !== null));
}
