/**
 * What a transcription schedule remembers per object version, shared by the worker (which writes
 * it on every tick) and the producer (which reads it for `schedule show`). One place for the key
 * names and the shape, so the two never drift.
 */

/** Where one object version stands in a schedule. */
export const SCHEDULE_OBJECT_STATUSES = ['pending', 'done', 'failed', 'given-up'] as const;
/**
 * - `pending`: a transcription is enqueued or running; the next tick looks at its record.
 * - `done`: its transcription record is 200. Only a new ETag transcribes the object again.
 * - `failed`: its last transcription failed for good; a tick re-enqueues it at `retryAt`.
 * - `given-up`: `maxTries` transcriptions failed; only a new ETag tries again.
 */
export type ScheduleObjectStatus = (typeof SCHEDULE_OBJECT_STATUSES)[number];

/** The error of an object's last failed transcription. */
export interface ScheduleObjectError {
  /** Stable error code of the record (`OBSQ_…`, or the server's, e.g. `NoSuchBucket`). */
  code: string;
  message: string;
  /** HTTP-like status of the failed record (0: no server answer). */
  status: number;
  /** Epoch ms when the tick saw the failure. */
  at: number;
}

/** The value stored per object (JSON) in {@link scheduleStateKey}. */
export interface ScheduleObjectState {
  /** ETag (unquoted) of the version this state is about; another ETag starts over. */
  etag: string;
  status: ScheduleObjectStatus;
  /** Transcriptions enqueued for this version so far (1 after the first). */
  tries: number;
  /** Job id of the latest transcription; its record decides `done` or `failed`. */
  jobId: string;
  /** `failed` only: epoch ms from which a tick may enqueue the next try. */
  retryAt?: number;
  /** The last failure, kept after a later success for `schedule show`. */
  lastError?: ScheduleObjectError;
}

/** A failure as listed by `schedule show`: the object and its error. */
export interface ScheduleErrorEntry extends ScheduleObjectError {
  bucket: string;
  key: string;
  etag: string;
  /** Which try failed (1-based). */
  try: number;
  /** True when this failure made the schedule give the object up. */
  givenUp: boolean;
}

/**
 * Redis hash of a schedule's objects: field `bucket/key`, value {@link ScheduleObjectState} as
 * JSON. Shares the queues' hash tag so it sits in their cluster slot.
 */
export function scheduleStateKey(prefix: string, scheduleId: string): string {
  return `${prefix}:schedule:${scheduleId}:objects`;
}

/** Redis hash of a schedule's tick bookkeeping: `lastTickAt`, `ticks`, `lastEnqueued`, `lastListed`. */
export function scheduleTicksKey(prefix: string, scheduleId: string): string {
  return `${prefix}:schedule:${scheduleId}:ticks`;
}

/** Redis list of a schedule's latest failures ({@link ScheduleErrorEntry} JSON), newest first. */
export function scheduleErrorsKey(prefix: string, scheduleId: string): string {
  return `${prefix}:schedule:${scheduleId}:errors`;
}

/** How many failures {@link scheduleErrorsKey} keeps. */
export const SCHEDULE_ERRORS_KEPT = 20;

/** Every key of one schedule's bookkeeping (for `remove --forget`). */
export function scheduleKeys(prefix: string, scheduleId: string): string[] {
  return [scheduleStateKey(prefix, scheduleId), scheduleTicksKey(prefix, scheduleId), scheduleErrorsKey(prefix, scheduleId)];
}

/**
 * Delay before try `tries + 1` of an object whose try `tries` failed: `retryDelayMs` doubled per
 * failed try, at most 6 hours.
 */
export function scheduleRetryDelayMs(retryDelayMs: number, tries: number): number {
  return Math.min(6 * 3_600_000, retryDelayMs * 2 ** Math.max(0, tries - 1));
}

/** Parses a stored state; `undefined` for a missing or unreadable value (treated as never seen). */
export function parseScheduleObjectState(raw: string | null | undefined): ScheduleObjectState | undefined {
  if (!raw) return undefined;
  try {
    const v = JSON.parse(raw) as Partial<ScheduleObjectState>;
    if (typeof v.etag !== 'string' || typeof v.jobId !== 'string' || typeof v.tries !== 'number') return undefined;
    if (!SCHEDULE_OBJECT_STATUSES.includes(v.status as ScheduleObjectStatus)) return undefined;
    return v as ScheduleObjectState;
  } catch {
    return undefined;
  }
}
