import { errorCode, parseRetryAfter } from '@obsq/shared';
import type { GetResult } from '@obsq/shared';

/**
 * One row of the retry table. A row matches when every field it sets matches; the first matching
 * row decides. Rows with `code` come first because a code is more precise than a status (and
 * a 200 whose body is `<Error>` has only its code to go by).
 */
export interface RetryRule {
  /** HTTP status, or an inclusive `[min, max]` range. */
  status?: number | readonly [number, number];
  /** OBS/S3 error code (`SlowDown`) or transport error code (`ECONNRESET`). */
  code?: string;
  retryable: boolean;
  /** Why, in a few words (goes into logs and `StorageError.details.reason`). */
  reason: string;
}

/**
 * Retry rules for storage failures (obs-api.md §4, §9 fact 8), used by the client for
 * transport-level retries and by the worker for job-level retries.
 */
export const STORAGE_RETRY_RULES: readonly RetryRule[] = [
  // Transport errors: no response, or the connection broke mid-way.
  ...[
    'ECONNRESET', 'ECONNREFUSED', 'ECONNABORTED', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN', 'ENETUNREACH',
    'EHOSTUNREACH', 'ENETDOWN', 'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT',
    'UND_ERR_BODY_TIMEOUT', 'UND_ERR_RESPONSE_STATUS_CODE', 'OBSQ_NETWORK', 'OBSQ_TIMEOUT', 'TimeoutError',
  ].map((code) => ({ code, retryable: true, reason: `transport error ${code}` })),
  // Our own or the caller's doing: retrying cannot help.
  ...[
    'ABORT_ERR', 'AbortError', 'UND_ERR_ABORTED', 'OBSQ_ABORTED', 'UND_ERR_CLOSED', 'UND_ERR_DESTROYED',
    'OBSQ_CLOSED', 'UND_ERR_INVALID_ARG', 'UND_ERR_NOT_SUPPORTED', 'UND_ERR_REQ_CONTENT_LENGTH_MISMATCH',
    'ERR_INVALID_ARG_TYPE', 'ERR_INVALID_ARG_VALUE', 'ENOENT', 'EACCES', 'EPERM', 'EISDIR', 'OBSQ_VALIDATION',
    'OBSQ_SOURCE_CHANGED', 'OBSQ_CONFIG_INVALID',
  ].map((code) => ({ code, retryable: false, reason: `local error ${code}` })),
  // Server codes that say "try again".
  { code: 'SlowDown', retryable: true, reason: 'throttled (SlowDown)' },
  { code: 'ServiceUnavailable', retryable: true, reason: 'service unavailable' },
  { code: 'InternalError', retryable: true, reason: 'server internal error' },
  { code: 'RequestTimeout', retryable: true, reason: 'server timed out reading the request' },
  { code: 'OperationAborted', retryable: true, reason: 'conflicting operation in progress' },
  { code: 'IncompleteBody', retryable: true, reason: 'body not fully received' },
  { code: 'BadDigest', retryable: true, reason: 'Content-MD5 mismatch (corrupted in transit?)' },
  // Server codes that never get better by waiting.
  ...[
    'AccessDenied', 'InvalidAccessKeyId', 'SignatureDoesNotMatch', 'RequestTimeTooSkewed', 'NoSuchKey',
    'NoSuchUpload', 'NoSuchBucket', 'NoSuchVersion', 'InvalidPart', 'InvalidPartOrder', 'EntityTooSmall',
    'EntityTooLarge', 'InvalidArgument', 'InvalidRequest', 'MalformedXML', 'InvalidBucketName',
    'KeyTooLongError', 'InvalidObjectState', 'PreconditionFailed', 'InvalidRange', 'MethodNotAllowed',
    'NotImplemented', 'ServiceNotImplemented', 'BucketAlreadyExists', 'BucketNotEmpty', 'MissingContentLength',
  ].map((code) => ({ code, retryable: false, reason: `permanent error ${code}` })),
  // Statuses, whatever the code.
  { status: 0, retryable: true, reason: 'no response' },
  { status: 408, retryable: true, reason: 'request timeout (408)' },
  { status: 429, retryable: true, reason: 'too many requests (429)' },
  { status: 500, retryable: true, reason: 'server error (500)' },
  { status: 501, retryable: false, reason: 'not implemented (501)' },
  { status: 502, retryable: true, reason: 'bad gateway (502)' },
  { status: 503, retryable: true, reason: 'service unavailable (503)' },
  { status: 504, retryable: true, reason: 'gateway timeout (504)' },
  { status: [505, 599], retryable: true, reason: 'server error (5xx)' },
  { status: [300, 499], retryable: false, reason: 'client error' },
];

/** Verdict of {@link classifyFailure}. */
export interface FailureClass {
  retryable: boolean;
  reason: string;
}

/** Looks a status/code pair up in the table (first match wins). */
export function lookupRetryRule(
  status: number | undefined,
  code: string | undefined,
  rules: readonly RetryRule[] = STORAGE_RETRY_RULES,
): RetryRule | undefined {
  return rules.find((r) => {
    if (r.code !== undefined && r.code !== code) return false;
    if (r.status !== undefined) {
      if (status === undefined) return false;
      if (typeof r.status === 'number' ? r.status !== status : status < r.status[0] || status > r.status[1]) return false;
    }
    return r.code !== undefined || r.status !== undefined;
  });
}

/**
 * Decides whether a failed storage call may be retried. Accepts a GetResult (a 2xx result is
 * only a failure when it carries an `errorCode`: the 200-with-`<Error>` case), a `StorageError`
 * (or anything with a `result`), or any thrown value (its `code`, `name` and `cause` chain are
 * looked up). Pure: same input, same answer.
 */
export function classifyFailure(failure: GetResult | unknown): FailureClass {
  if (isResult(failure)) return classifyResult(failure);
  const withResult = (failure as { result?: unknown } | null)?.result;
  if (isResult(withResult) && withResult.status !== 0) return classifyResult(withResult);
  let current: unknown = failure;
  for (let depth = 0; depth < 5 && current !== undefined && current !== null; depth++) {
    for (const code of [errorCode(current), (current as { name?: unknown }).name]) {
      if (typeof code !== 'string') continue;
      const rule = lookupRetryRule(undefined, code);
      if (rule) return { retryable: rule.retryable, reason: rule.reason };
    }
    const permanent = (current as { permanent?: unknown }).permanent;
    if (typeof permanent === 'boolean' && typeof errorCode(current) === 'string' && errorCode(current)!.startsWith('OBSQ_')) {
      return { retryable: !permanent, reason: `${errorCode(current)} (${permanent ? 'permanent' : 'transient'})` };
    }
    current = (current as { cause?: unknown }).cause;
  }
  // Unknown errors follow the house rule: anything not known to be permanent is retried.
  return { retryable: true, reason: 'unclassified error' };
}

function classifyResult(result: GetResult): FailureClass {
  if (result.status >= 200 && result.status < 300 && result.errorCode === '') {
    return { retryable: false, reason: 'not a failure' };
  }
  // A 2xx carrying <Error> with an unknown code is treated like a 500: AWS documents those as
  // internal errors to retry (CompleteMultipartUpload, CopyObject).
  const rule =
    (result.errorCode ? lookupRetryRule(undefined, result.errorCode) : undefined) ??
    lookupRetryRule(result.status >= 200 && result.status < 300 ? 500 : result.status, undefined);
  if (rule) return { retryable: rule.retryable, reason: rule.reason };
  return { retryable: false, reason: `unexpected status ${result.status}` };
}

function isResult(v: unknown): v is GetResult {
  return typeof v === 'object' && v !== null && typeof (v as GetResult).status === 'number' && Array.isArray((v as GetResult).header);
}

/** Options of {@link backoffDelay}. */
export interface BackoffOptions {
  /** Delay before the first retry, in ms. @defaultValue 200 */
  baseMs?: number;
  /** Upper bound of the exponential delay, in ms. @defaultValue 20000 */
  maxMs?: number;
  /**
   * Randomisation: `'full'` draws from `[0, d]`, `'equal'` from `[d/2, d]`, `'none'` gives `d`;
   * a number `j` in 0..1 draws from `[d*(1-j), d]` (the job catalog's form; 1 = full, 0.5 = equal).
   * @defaultValue 'full'
   */
  jitter?: 'full' | 'equal' | 'none' | number;
  /**
   * The server's `Retry-After`, in ms (see {@link parseRetryAfter}). The delay is at least this,
   * capped at `maxRetryAfterMs`.
   */
  retryAfterMs?: number;
  /** Cap on honoured `Retry-After`, in ms. @defaultValue `maxMs` */
  maxRetryAfterMs?: number;
  /** Random source in [0, 1) (tests). @defaultValue Math.random */
  random?: () => number;
}

/**
 * Exponential backoff: `d = min(maxMs, baseMs * 2^(attempt-1))`, jittered, then raised to the
 * server's `Retry-After` when that is longer. `attempt` is 1 for the first retry. Whole ms.
 */
export function backoffDelay(attempt: number, opts: BackoffOptions = {}): number {
  const baseMs = opts.baseMs ?? 200;
  const maxMs = opts.maxMs ?? 20_000;
  const random = opts.random ?? Math.random;
  const n = Math.max(1, Math.floor(attempt));
  const d = Math.min(maxMs, baseMs * 2 ** Math.min(n - 1, 52));
  const j = opts.jitter === undefined || opts.jitter === 'full' ? 1 : opts.jitter === 'equal' ? 0.5 : opts.jitter === 'none' ? 0 : Math.min(1, Math.max(0, opts.jitter));
  const jittered = d * (1 - j) + random() * d * j;
  // An absent, zero or negative Retry-After cannot raise the delay.
  return Math.floor(Math.max(jittered, Math.min(opts.retryAfterMs ?? 0, opts.maxRetryAfterMs ?? maxMs)));
}

/** Re-exported: it lives in the contract so the SIS client parses `Retry-After` the same way. */
export { parseRetryAfter };

/** `Retry-After` of a result (its `header` list), in ms. */
export function retryAfterMsOf(result: Pick<GetResult, 'header'> | undefined, now?: number): number | undefined {
  const h = result?.header.find(([name]) => name === 'retry-after');
  return parseRetryAfter(h?.[1], now);
}
