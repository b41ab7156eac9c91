import type { ValidationIssue } from '../errors/index.js';

/**
 * Query parameters that carry a signature or credential (OBS v2 query auth, SigV4 presigned URLs,
 * temporary-credential tokens). Lower-case.
 */
export const SIGNED_URL_PARAMS: readonly string[] = [
  'signature',
  'accesskeyid',
  'x-amz-signature',
  'x-amz-credential',
  'x-amz-security-token',
  'x-obs-signature',
  'x-obs-credential',
  'x-obs-security-token',
];

/**
 * Checks a source URL stored in a job payload: http or https, and no secret in it (no user:password,
 * no signature or credential query parameter), since payloads sit in Redis in clear text.
 * @defaultValue field `'url'`
 */
export function sourceUrlIssues(url: string, field = 'url'): ValidationIssue[] {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return [{ field, rule: 'must be an absolute http(s) URL' }];
  }
  const issues: ValidationIssue[] = [];
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    issues.push({ field, rule: `must use http or https (got ${parsed.protocol.slice(0, -1)})` });
  }
  if (parsed.username !== '' || parsed.password !== '') {
    issues.push({ field, rule: 'must not contain a user name or password (credentials never go in job payloads)' });
  }
  const signed = [...new Set([...parsed.searchParams.keys()].filter((k) => SIGNED_URL_PARAMS.includes(k.toLowerCase())))];
  if (signed.length > 0) {
    issues.push({ field, rule: `must not carry a signature or credential (found query parameter ${signed.join(', ')})` });
  }
  return issues;
}
