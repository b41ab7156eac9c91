import type { ValidationIssue } from '../errors/index.js';
import { textIssues } from './text.js';

/** Longest object key OBS accepts, in UTF-8 bytes (seed §5). */
export const OBJECT_KEY_MAX_BYTES = 1024;

/**
 * Checks an object key: a string of valid Unicode (no lone surrogate), without C0 control
 * characters or DEL (they break listings, logs and XML 1.0 bodies), 1 to 1024 bytes once encoded as
 * UTF-8 (a CJK character counts 3).
 *
 * @param key - the object key, without the bucket name
 * @param field - the field path used in the issues
 * @defaultValue field `'key'`
 */
export function objectKeyIssues(key: unknown, field = 'key'): ValidationIssue[] {
  return textIssues(key, field, { minBytes: 1, maxBytes: OBJECT_KEY_MAX_BYTES });
}
