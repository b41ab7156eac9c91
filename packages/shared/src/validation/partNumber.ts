import type { ValidationIssue } from '../errors/index.js';
import { intRangeIssues } from './intRange.js';

/** Lowest multipart part number. */
export const PART_NUMBER_MIN = 1;
/** Highest multipart part number, which is also the most parts one upload may have. */
export const PART_NUMBER_MAX = 10_000;

/**
 * Checks a multipart part number: an integer from 1 to 10000.
 * @defaultValue field `'partNumber'`
 */
export function partNumberIssues(n: unknown, field = 'partNumber'): ValidationIssue[] {
  return intRangeIssues(n, field, PART_NUMBER_MIN, PART_NUMBER_MAX);
}
