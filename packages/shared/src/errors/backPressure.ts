/**
 * Back-pressure: a remote answered "too busy, come back later" (SIS over its concurrency or rate
 * limit, HTTP 429/503 with `Retry-After`). That is not a failure of the job: the worker puts the
 * job back with a delay without spending one of its attempts. An error says so with
 * `details.throttled === true` and, when the remote gave one, `details.retry_after_ms`.
 */
export interface BackPressure {
  /** How long the remote asked to wait, in ms; absent when it did not say. */
  retryAfterMs?: number;
}

/** The back-pressure an error carries, or `undefined` for an ordinary failure. */
export function backPressureOf(err: unknown): BackPressure | undefined {
  const details = typeof err === 'object' && err !== null ? (err as { details?: unknown }).details : undefined;
  if (typeof details !== 'object' || details === null) return undefined;
  const d = details as Record<string, unknown>;
  if (d.throttled !== true) return undefined;
  const ms = d.retry_after_ms;
  return typeof ms === 'number' && Number.isFinite(ms) && ms >= 0 ? { retryAfterMs: ms } : {};
}

/**
 * Parses a `Retry-After` value, delta-seconds (`120`) or an HTTP date, into ms from `now`.
 * Undefined when absent or malformed; never negative.
 */
export function parseRetryAfter(value: string | undefined, now: number = Date.now()): number | undefined {
  if (value === undefined) return undefined;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  const at = Date.parse(v);
  if (Number.isNaN(at) || !/[a-z]/i.test(v)) return undefined;
  return Math.max(0, at - now);
}
