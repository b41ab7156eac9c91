import { ObsqError } from '@obsq/shared';
import type { GetResult } from '@obsq/shared';
import { classifyFailure } from './retry.js';

/**
 * A storage call failed after the client's own retries. `result` is the GetResult record of the
 * last attempt (status 0 when no response came back), ready to be stored as the job's record.
 * `permanent` comes from the retry table ({@link classifyFailure}).
 */
export class StorageError extends ObsqError {
  override readonly code = 'OBSQ_STORAGE' as const;
  /** The last attempt's record. */
  readonly result: GetResult;
  /** Operation name, e.g. `UploadPart`. */
  readonly operation: string;
  /** How many attempts were made. */
  readonly attempts: number;

  constructor(operation: string, result: GetResult, options: { cause?: unknown; attempts?: number } = {}) {
    const verdict = classifyFailure(options.cause !== undefined && result.status === 0 ? options.cause : result);
    const what = result.status === 0 ? 'no response' : `${result.status} ${result.errorCode || result.reason}`;
    super('OBSQ_STORAGE', `${operation} failed: ${what}${result.errorMessage ? `: ${result.errorMessage}` : ''}`, {
      cause: options.cause,
      permanent: !verdict.retryable,
      details: {
        operation,
        status: result.status,
        errorCode: result.errorCode,
        requestId: result.requestId,
        reason: verdict.reason,
      },
    });
    this.name = 'StorageError';
    this.result = result;
    this.operation = operation;
    this.attempts = options.attempts ?? 1;
  }
}
