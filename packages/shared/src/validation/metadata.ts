import type { ValidationIssue } from '../errors/index.js';
import { joinFieldPath } from './fieldPath.js';
import { isPlainObject, textIssues, typeName } from './text.js';

/** Most bytes of user metadata (keys plus values, UTF-8) one object may carry (8 KiB). */
export const METADATA_MAX_BYTES = 8 * 1024;

const KEY = /^[a-z0-9\-_.]+$/;
// Metadata travels in HTTP headers: control characters (CR/LF above all) would split the header.
const CONTROL = /[\u0000-\u001f\u007f]/;

/**
 * Checks user metadata (the same rules for uploads and copies): an object of strings, keys made of
 * `[a-z0-9-_.]`, values of valid Unicode without control characters, and keys plus values together
 * at most 8 KiB in UTF-8.
 * @defaultValue field `'metadata'`
 */
export function metadataIssues(metadata: unknown, field = 'metadata'): ValidationIssue[] {
  if (!isPlainObject(metadata)) return [{ field, rule: `must be an object of string values (got ${typeName(metadata)})` }];
  const issues: ValidationIssue[] = [];
  let total = 0;
  for (const [key, value] of Object.entries(metadata)) {
    const valid = KEY.test(key);
    const at = joinFieldPath(field, key);
    if (!valid) issues.push({ field: at, rule: "key may contain only lowercase letters, digits, '-', '_' and '.'" });
    if (typeof value !== 'string') {
      issues.push({ field: at, rule: `value must be a string (got ${typeName(value)})` });
      continue;
    }
    if (CONTROL.test(value)) issues.push({ field: at, rule: 'value must not contain control characters' });
    else issues.push(...textIssues(value, at).map((i) => ({ ...i, rule: `value ${i.rule}` })));
    total += Buffer.byteLength(key, 'utf8') + Buffer.byteLength(value, 'utf8');
  }
  if (total > METADATA_MAX_BYTES) {
    issues.push({ field, rule: `keys and values together must be at most ${METADATA_MAX_BYTES} bytes in UTF-8 (got ${total})` });
  }
  return issues;
}
