import type { ValidationIssue } from '../errors/index.js';
import { credentialParams } from '../net/urlPolicy.js';

/** Longest source URL accepted, in characters (it sits in every part's payload). */
export const SOURCE_URL_MAX_CHARS = 8192;

/**
 * Checks a source URL stored in a job payload: http or https, and no secret in it (no user:password,
 * no query parameter that looks like a signature or credential, see `CREDENTIAL_PARAM`), since
 * payloads sit in Redis in clear text. Where the URL may connect is decided by the URL policy
 * (`OBSQ_URL_ALLOW`/`OBSQ_URL_DENY`) when it is fetched.
 * @defaultValue field `'url'`
 */
export function sourceUrlIssues(url: string, field = 'url'): ValidationIssue[] {
  if (url.length > SOURCE_URL_MAX_CHARS) return [{ field, rule: `must be at most ${SOURCE_URL_MAX_CHARS} characters (got ${url.length})` }];
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
  const signed = credentialParams(parsed);
  if (signed.length > 0) {
    const names = signed.map((s) => JSON.stringify(s.slice(0, 40))).join(', ');
    const which = signed.length === 1 ? `query parameter ${names} looks like a credential` : `query parameters ${names} look like credentials`;
    issues.push({
      field,
      rule: `must not carry a signature or credential: ${which}, and job payloads are stored in Redis in clear text (serve the file without it, or upload it from a file)`,
    });
  }
  return issues;
}
