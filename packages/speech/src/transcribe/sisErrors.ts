import { ObsqError, type ObsqErrorCode } from '@obsq/shared';
import { isRetryableSisCode, SIS_THROTTLE_DEFAULT_DELAY_MS, SIS_THROTTLING_CODES } from '../sis/index.js';

/**
 * What a SIS failure carries in `err.details`, in SIS's wire names so the GetResult record can
 * copy them (`errorCode` ← `error_code`, `errorMessage` ← `error_msg`, `requestId` ← `trace_id`,
 * `status` ← `http_status` when the handshake failed).
 */
export interface SisErrorDetails {
  /** SIS or APIG code, e.g. `SIS.0301`, `SIS.0304`, `APIGW.0301`. */
  error_code: string;
  error_msg: string;
  trace_id?: string;
  /** HTTP status of a refused WebSocket upgrade. */
  http_status?: number;
  /** `ERROR`, `FATAL_ERROR`, `HANDSHAKE` (non-101 upgrade) or `CLIENT` (refused locally). */
  source: 'ERROR' | 'FATAL_ERROR' | 'HANDSHAKE' | 'CLIENT';
  /** `Retry-After` of a refused upgrade, in ms. */
  retry_after_ms?: number;
  [key: string]: unknown;
}

/**
 * True when a SIS answer is back-pressure ("too busy"), not failure: a throttling code
 * ({@link SIS_THROTTLING_CODES}) anywhere, or a refused upgrade with HTTP 429 or 503.
 */
export function isSisThrottling(details: Pick<SisErrorDetails, 'error_code' | 'http_status' | 'source'>): boolean {
  if (SIS_THROTTLING_CODES.has(details.error_code)) return true;
  return details.source === 'HANDSHAKE' && (details.http_status === 429 || details.http_status === 503);
}

/**
 * Builds the error for a failure reported by SIS (ERROR / FATAL_ERROR message or a refused
 * upgrade). Permanent unless the code is known to be worth a retry. A throttling answer is marked
 * as back-pressure (`details.throttled`, `details.retry_after_ms`; see `backPressureOf`).
 */
export function sisError(details: SisErrorDetails, options: { cause?: unknown; permanent?: boolean } = {}): ObsqError {
  const status = details.http_status === undefined ? '' : ` (HTTP ${details.http_status})`;
  const throttled = isSisThrottling(details);
  return new ObsqError('OBSQ_SIS', `SIS ${details.error_code}${status}: ${details.error_msg}`, {
    cause: options.cause,
    permanent: throttled ? false : (options.permanent ?? !isRetryableSisCode(details.error_code)),
    details: throttled ? { ...details, throttled: true, retry_after_ms: details.retry_after_ms ?? SIS_THROTTLE_DEFAULT_DELAY_MS } : details,
  });
}

/** A transport or timing failure: retryable, with the SIS session context in `details`. */
export function transportError(
  code: Extract<ObsqErrorCode, 'OBSQ_NETWORK' | 'OBSQ_TIMEOUT'>,
  message: string,
  details: Record<string, unknown>,
  cause?: unknown,
): ObsqError {
  return new ObsqError(code, message, { cause, details });
}

/** The `error_code`/`error_msg` pair of an error built by {@link sisError} or the up-front format check. */
export function sisErrorFields(err: unknown): { error_code: string; error_msg: string } | undefined {
  if (!(err instanceof ObsqError) || !err.details) return undefined;
  const { error_code, error_msg } = err.details;
  return typeof error_code === 'string' && typeof error_msg === 'string' ? { error_code, error_msg } : undefined;
}
