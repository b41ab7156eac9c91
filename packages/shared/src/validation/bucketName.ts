import type { ValidationIssue } from '../errors/index.js';

/** Shortest bucket name OBS accepts. */
export const BUCKET_NAME_MIN_LENGTH = 3;
/** Longest bucket name OBS accepts. */
export const BUCKET_NAME_MAX_LENGTH = 63;

const IPV4 = /^\d{1,3}(\.\d{1,3}){3}$/;

/**
 * Checks a bucket name against every naming rule of OBS (seed §5) and returns one issue per broken
 * rule, all of them, so a caller can fix everything in one go. An empty list means the name is valid.
 *
 * @param name - the bucket name as the user typed it
 * @param field - the field path used in the issues
 * @defaultValue field `'bucket'`
 */
export function bucketNameIssues(name: string, field = 'bucket'): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  const add = (rule: string): void => {
    issues.push({ field, rule });
  };
  const length = [...name].length;
  if (length < BUCKET_NAME_MIN_LENGTH || length > BUCKET_NAME_MAX_LENGTH) {
    add(`must be ${BUCKET_NAME_MIN_LENGTH} to ${BUCKET_NAME_MAX_LENGTH} characters long (got ${length})`);
  }
  // The character rules say nothing useful about an empty name; the length rule covers it.
  if (length === 0) return issues;

  if (!/^[a-z0-9]/.test(name)) add('must start with a lowercase letter or digit');
  const bad = [...new Set([...name].filter((c) => !/[a-z0-9.-]/.test(c)))];
  if (bad.length > 0) {
    add(`may contain only lowercase letters, digits, '-' and '.' (found ${bad.map((c) => JSON.stringify(c)).join(', ')})`);
  }
  if (IPV4.test(name)) add('must not be an IP address');
  if (/^[-.]|[-.]$/.test(name)) add("must not start or end with '-' or '.'");
  if (name.includes('..')) add("must not contain two adjacent periods ('..')");
  if (name.includes('-.') || name.includes('.-')) add("must not have a period next to a hyphen ('-.' or '.-')");
  return issues;
}
