import type { ValidationIssue } from '../errors/index.js';

/** C0 control characters and DEL: they split headers, logs and terminal output. */
const CONTROL = /[\u0000-\u001f\u007f]/;
/** A UTF-16 surrogate without its partner: not a character, and not encodable as UTF-8. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** What `value` is, for messages: `number`, `array`, `null`, `object`, …. */
export function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

/** Options of {@link textIssues}. */
export interface TextRules {
  /** Fewest UTF-8 bytes. @defaultValue 0 */
  minBytes?: number;
  /** Most UTF-8 bytes. @defaultValue unlimited */
  maxBytes?: number;
  /** Allow C0 control characters and DEL. @defaultValue false */
  controls?: boolean;
}

/**
 * Checks text obsq stores or sends: a string, valid UTF-16 (no lone surrogate, so it has a UTF-8
 * form), no control characters (unless allowed), and a UTF-8 length in bounds. Returns at most one
 * issue: the first rule broken.
 */
export function textIssues(value: unknown, field: string, rules: TextRules = {}): ValidationIssue[] {
  if (typeof value !== 'string') return [{ field, rule: `must be a string (got ${typeName(value)})` }];
  const surrogate = LONE_SURROGATE.exec(value);
  if (surrogate) return [{ field, rule: `must be valid Unicode: a lone UTF-16 surrogate is at index ${surrogate.index}` }];
  if (!rules.controls) {
    const control = CONTROL.exec(value);
    if (control) {
      const code = control[0].charCodeAt(0).toString(16).toUpperCase().padStart(4, '0');
      return [{ field, rule: `must not contain control characters (found U+${code} at index ${control.index})` }];
    }
  }
  const bytes = Buffer.byteLength(value, 'utf8');
  const min = rules.minBytes ?? 0;
  const max = rules.maxBytes ?? Number.POSITIVE_INFINITY;
  if (bytes < min || bytes > max) {
    const range = max === Number.POSITIVE_INFINITY ? `at least ${min}` : min === 0 ? `at most ${max}` : `${min} to ${max}`;
    return [{ field, rule: `must be ${range} bytes long in UTF-8 (got ${bytes})` }];
  }
  return [];
}

/** True for `{}`-style objects (not arrays, null, class instances such as Buffer or Date). */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}
