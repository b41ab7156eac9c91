import type { ValidationIssue } from '../errors/index.js';

/**
 * Checks that `value` is an integer in `[min, max]`; the message names the bound and the unit, e.g.
 * `must be an integer from 0 to 3000 ms (got 3001)`.
 *
 * @param unit - appended after the bounds (`ms`, `seconds`, `bytes`); omit for plain counts
 */
export function intRangeIssues(value: unknown, field: string, min: number, max: number, unit?: string): ValidationIssue[] {
  if (typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max) return [];
  const got = typeof value === 'number' ? String(value) : JSON.stringify(value) ?? String(value);
  return [{ field, rule: `must be an integer from ${min} to ${max}${unit === undefined ? '' : ` ${unit}`} (got ${got})` }];
}
