import { capText, ISSUE_RULE_MAX_CHARS, RECORD_MESSAGE_MAX_CHARS } from './capText.js';

/**
 * Stable error codes. Callers branch on `err.code`, never on `instanceof` across packages.
 * Every code is listed with its meaning in docs/errors.md.
 */
export type ObsqErrorCode =
  | 'OBSQ_VALIDATION'
  | 'OBSQ_CONFIG_INVALID'
  | 'OBSQ_STORAGE'
  | 'OBSQ_NETWORK'
  | 'OBSQ_TIMEOUT'
  | 'OBSQ_ABORTED'
  | 'OBSQ_SOURCE'
  | 'OBSQ_SOURCE_CHANGED'
  | 'OBSQ_SOURCE_FORBIDDEN'
  | 'OBSQ_SOURCE_TOO_LARGE'
  | 'OBSQ_URL_FORBIDDEN'
  | 'OBSQ_SIS'
  | 'OBSQ_AUDIO'
  | 'OBSQ_AUDIO_INVALID'
  | 'OBSQ_ENGINE'
  | 'OBSQ_CLOSED'
  | 'OBSQ_BATCH_PARTIAL'
  | 'OBSQ_CANCELLED'
  | 'OBSQ_INTERNAL';

/** Options common to every obsq error. */
export interface ObsqErrorOptions {
  /** The error that caused this one; always chained when there is one. */
  cause?: unknown;
  /**
   * True when retrying cannot help (bad input, 4xx, signature mismatch). The worker turns a
   * permanent error into BullMQ's `UnrecoverableError` after writing the GetResult record.
   * @defaultValue false
   */
  permanent?: boolean;
  /** Machine-readable details (never secrets). */
  details?: Record<string, unknown>;
}

/** Base class of every error obsq throws on purpose. */
export class ObsqError extends Error {
  readonly code: ObsqErrorCode;
  readonly permanent: boolean;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ObsqErrorCode, message: string, options: ObsqErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ObsqError';
    this.code = code;
    this.permanent = options.permanent ?? false;
    this.details = options.details;
  }
}

/** One rejected field: its path (e.g. `bucket`, `request.vadHead`) and the rule it broke. */
export interface ValidationIssue {
  field: string;
  rule: string;
}

/**
 * Bad input. Always permanent. The message names every field and rule, e.g.
 * `bucket: must be 3 to 63 characters long; key: must be at most 1024 UTF-8 bytes`.
 */
export class ValidationError extends ObsqError {
  readonly issues: ValidationIssue[];

  constructor(issues: ValidationIssue[], options: Omit<ObsqErrorOptions, 'permanent'> = {}) {
    // Rules may quote the input: capped, so a hostile value cannot blow up messages, logs and records.
    issues = issues.map((i) => ({ field: capText(i.field, 256), rule: capText(i.rule, ISSUE_RULE_MAX_CHARS) }));
    super('OBSQ_VALIDATION', capText(issues.map((i) => `${i.field}: ${i.rule}`).join('; '), RECORD_MESSAGE_MAX_CHARS), {
      ...options,
      permanent: true,
    });
    this.name = 'ValidationError';
    this.issues = issues;
  }
}

/** A configuration variable is missing or malformed; the message names the variable. */
export class ConfigError extends ObsqError {
  constructor(message: string, options: Omit<ObsqErrorOptions, 'permanent'> = {}) {
    super('OBSQ_CONFIG_INVALID', message, { ...options, permanent: true });
    this.name = 'ConfigError';
  }
}

/** Turns anything thrown into an `Error`; use at every `catch`. */
export function coerceError(value: unknown): Error {
  if (value instanceof Error) return value;
  if (typeof value === 'string') return new Error(value);
  try {
    return new Error(`non-error thrown: ${JSON.stringify(value)}`);
  } catch {
    return new Error(`non-error thrown: ${String(value)}`);
  }
}

/** Reads `code` from any error-like value (ours, Node's `ECONNRESET`, undici's `UND_ERR_*`). */
export function errorCode(value: unknown): string | undefined {
  if (typeof value === 'object' && value !== null && 'code' in value) {
    const code = (value as { code: unknown }).code;
    return typeof code === 'string' ? code : undefined;
  }
  return undefined;
}

/** True when `value` is an obsq error marked permanent. */
export function isPermanent(value: unknown): boolean {
  return typeof value === 'object' && value !== null && (value as { permanent?: unknown }).permanent === true;
}
