import type { ValidationIssue } from '../errors/index.js';

/** Longest object key OBS accepts, in UTF-8 bytes (seed §5). */
export const OBJECT_KEY_MAX_BYTES = 1024;

/**
 * Checks an object key: 1 to 1024 bytes once encoded as UTF-8 (a CJK character counts 3).
 *
 * @param key - the object key, without the bucket name
 * @param field - the field path used in the issues
 * @defaultValue field `'key'`
 */
export function objectKeyIssues(key: string, field = 'key'): ValidationIssue[] {
  const bytes = Buffer.byteLength(key, 'utf8');
  if (bytes < 1 || bytes > OBJECT_KEY_MAX_BYTES) {
    return [{ field, rule: `must be 1 to ${OBJECT_KEY_MAX_BYTES} bytes long in UTF-8 (got ${bytes})` }];
  }
  return [];
}
