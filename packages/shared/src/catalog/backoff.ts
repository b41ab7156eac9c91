import { jobCatalog, type BackoffPolicy, type JobName } from './jobCatalog.js';
import { isJobName } from './parsePayload.js';

/**
 * Backoff type put on every job; BullMQ routes unknown types to the worker's
 * `settings.backoffStrategy`, which is {@link catalogBackoffStrategy} (the worker raises it to a
 * server's Retry-After). The built-in `exponential` type has no cap, and `maxDelayMs` matters for
 * 10-attempt jobs.
 */
export const OBSQ_BACKOFF_TYPE = 'obsq-exponential';

/**
 * Delay before retry number `attemptsMade` (1 after the first failure), in ms: `delayMs * 2^(n-1)`
 * capped at `maxDelayMs`, then drawn uniformly from `[d*(1-jitter), d]` as BullMQ does.
 *
 * @param random - source of randomness in [0, 1), for tests
 */
export function backoffDelayMs(policy: BackoffPolicy, attemptsMade: number, random: () => number = Math.random): number {
  const n = Math.max(1, attemptsMade);
  const capped = Math.min(policy.maxDelayMs, policy.delayMs * 2 ** (n - 1));
  return Math.floor(capped * (1 - policy.jitter) + random() * capped * policy.jitter);
}

/**
 * BullMQ `settings.backoffStrategy` for the worker: looks the job's policy up by job name; unknown
 * names fall back to the `delay` on the job's options, or 1 s.
 */
export function catalogBackoffStrategy(
  attemptsMade: number,
  _type?: string,
  _err?: Error,
  job?: { name: string; opts?: { backoff?: number | { delay?: number } } },
): number {
  const name = job?.name;
  if (isJobName(name)) return backoffDelayMs(jobCatalog[name].backoff, attemptsMade);
  const b = job?.opts?.backoff;
  const delay = typeof b === 'number' ? b : (b?.delay ?? 1_000);
  return backoffDelayMs({ type: 'exponential', delayMs: delay, maxDelayMs: 60_000, jitter: 0.5 }, attemptsMade);
}

/** BullMQ job options from the catalog: `attempts` and the capped backoff. */
export function jobOptionsFor(name: JobName): { attempts: number; backoff: { type: string; delay: number } } {
  const def = jobCatalog[name];
  return { attempts: def.attempts, backoff: { type: OBSQ_BACKOFF_TYPE, delay: def.backoff.delayMs } };
}
