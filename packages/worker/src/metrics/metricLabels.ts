import { JOB_STATES, QUEUE_NAMES, type JobName, type ObsqErrorCode } from '@obsq/shared';
import { STORAGE_OPERATIONS } from '@obsq/storage';

/**
 * Values of the `queue` label: the catalog's job names (one queue per job). Anything else is
 * reported as `other`, so a typo cannot add series.
 */
export const METRIC_QUEUES: readonly JobName[] = QUEUE_NAMES;

/** A value of the `queue` label. */
export type MetricQueue = JobName;

/** Job states reported by `obsq_queue_jobs{state}`: the contract's {@link JOB_STATES}. */
export const QUEUE_DEPTH_STATES = JOB_STATES;

/** A value of the `state` label of `obsq_queue_jobs`. */
export type QueueDepthState = (typeof QUEUE_DEPTH_STATES)[number];

/**
 * How a job attempt ended: `completed`, `failed` (final: no attempt left, or a permanent error),
 * `retried` (this attempt failed and BullMQ will run it again), or `throttled` (a remote said
 * "too busy": put back with a delay, no attempt spent).
 */
export type JobOutcome = 'completed' | 'failed' | 'retried' | 'throttled';

/** Which byte counter `bytes()` adds to. */
export type ByteDirection = 'uploaded' | 'copied' | 'downloaded';

/** HTTP status class of a storage request; `network` when no response arrived. */
export type StatusClass = '2xx' | '3xx' | '4xx' | '5xx' | 'network';

// A Record (not an array) so that adding a code to ObsqErrorCode fails to compile until it is
// listed here too.
const OBSQ_CODES: Record<ObsqErrorCode, true> = {
  OBSQ_VALIDATION: true,
  OBSQ_CONFIG_INVALID: true,
  OBSQ_STORAGE: true,
  OBSQ_NETWORK: true,
  OBSQ_TIMEOUT: true,
  OBSQ_ABORTED: true,
  OBSQ_SOURCE: true,
  OBSQ_SOURCE_CHANGED: true,
  OBSQ_SOURCE_FORBIDDEN: true,
  OBSQ_SOURCE_TOO_LARGE: true,
  OBSQ_URL_FORBIDDEN: true,
  OBSQ_SIS: true,
  OBSQ_AUDIO: true,
  OBSQ_AUDIO_INVALID: true,
  OBSQ_ENGINE: true,
  OBSQ_CLOSED: true,
  OBSQ_BATCH_PARTIAL: true,
  OBSQ_CANCELLED: true,
  OBSQ_INTERNAL: true,
};

/**
 * Values the `error_code` label may take: every `ObsqErrorCode`, the socket and undici codes a
 * storage call can end with, and BullMQ's stalled-limit failure. Everything else becomes `other`.
 */
export const KNOWN_ERROR_CODES: ReadonlySet<string> = new Set([
  ...Object.keys(OBSQ_CODES),
  'ECONNRESET',
  'ECONNREFUSED',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_SOCKET',
  'UND_ERR_ABORTED',
  'STALLED',
]);

const queueSet: ReadonlySet<string> = new Set(METRIC_QUEUES);
const operationSet: ReadonlySet<string> = new Set(STORAGE_OPERATIONS);
const ENGINE_RE = /^[a-z][a-z0-9_-]{0,31}$/;

/** Maps a queue name to its label value (`other` when it is not one of {@link METRIC_QUEUES}). */
export function queueLabel(queue: string): string {
  return queueSet.has(queue) ? queue : 'other';
}

/** Maps an error code to its label value: known codes pass, anything else (or none) is `other`. */
export function errorCodeLabel(code: string | undefined): string {
  return code !== undefined && KNOWN_ERROR_CODES.has(code) ? code : 'other';
}

/** Maps a storage operation to its label value (`other` when not one of `STORAGE_OPERATIONS`). */
export function operationLabel(operation: string): string {
  return operationSet.has(operation) ? operation : 'other';
}

/**
 * Maps an engine name to its label value. Engine names are code constants (`sis`,
 * `pocketsphinx`); a value that does not look like one is reported as `other`.
 */
export function engineLabel(engine: string): string {
  return ENGINE_RE.test(engine) ? engine : 'other';
}

/** The status class of an HTTP status; `undefined` (no response: reset, timeout, DNS) is `network`. */
export function statusClassOf(status: number | undefined): StatusClass {
  if (status === undefined || !Number.isInteger(status) || status < 200 || status > 599) return 'network';
  if (status < 300) return '2xx';
  if (status < 400) return '3xx';
  if (status < 500) return '4xx';
  return '5xx';
}
