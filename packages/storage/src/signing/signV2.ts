import { createHmac } from 'node:crypto';
import { headerPrefix } from './headerPrefix.js';
import { isSubResource } from './subResources.js';
import type { Credentials, SignableRequest } from './types.js';

/**
 * OBS native and AWS V2 string-to-sign (obs-api.md §3.1, §3.2, §3.4):
 * `VERB\nContent-MD5\nContent-Type\nDate\n` + canonical headers + canonical resource.
 *
 * - Date line: `expires` when given (query auth); empty when `x-obs-date`/`x-amz-date` is sent;
 *   else the `date` header.
 * - Canonical headers: every `x-obs-*` (`x-amz-*` for V2) header, lower-cased, trimmed, sorted,
 *   one `name:value\n` each. In V2 mode `x-amz-*` query parameters count as headers and win over
 *   a header of the same name (AWS query auth, e.g. `x-amz-security-token`).
 * - Canonical resource: `/bucket` + wire path when virtual-hosted (bucket-only gives `/bucket/`),
 *   the wire path as is when path-style; then `?` + sub-resources sorted by name, bare when the
 *   value is null or empty, the value decoded. In OBS mode `x-obs-*` query parameters are
 *   sub-resources (Node SDK presigner).
 */
export function stringToSignV2(mode: 'obs' | 'v2', req: SignableRequest, expires?: string): string {
  const prefix = headerPrefix(mode);
  const headers = new Map<string, string>();
  for (const [name, value] of Object.entries(req.headers)) {
    const lower = name.toLowerCase();
    if (lower.startsWith(prefix)) headers.set(lower, value.trim());
  }
  const sub: Array<[string, string | null]> = [];
  for (const [name, value] of req.query) {
    const lower = name.toLowerCase();
    if (mode === 'v2' && lower.startsWith(prefix)) headers.set(lower, (value ?? '').trim());
    else if (isSubResource(name, prefix)) sub.push([name, value]);
  }

  let dateLine: string;
  if (expires !== undefined) dateLine = expires;
  else if (headers.has(`${prefix}date`)) dateLine = '';
  else dateLine = headerValue(req.headers, 'date');

  const canonicalHeaders = [...headers.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([n, v]) => `${n}:${v}\n`)
    .join('');

  let resource = (req.virtualHostBucket !== undefined ? `/${req.virtualHostBucket}` : '') + req.path;
  if (sub.length > 0) {
    sub.sort(([a, av], [b, bv]) => (a < b ? -1 : a > b ? 1 : (av ?? '') < (bv ?? '') ? -1 : 1));
    resource += `?${sub.map(([n, v]) => (v === null || v === '' ? n : `${n}=${v}`)).join('&')}`;
  }

  return [
    req.method.toUpperCase(),
    headerValue(req.headers, 'content-md5'),
    headerValue(req.headers, 'content-type'),
    dateLine,
    '',
  ].join('\n') + canonicalHeaders + resource;
}

/** Base64 HMAC-SHA1 signature of {@link stringToSignV2}. */
export function signV2(
  mode: 'obs' | 'v2',
  req: SignableRequest,
  secretAccessKey: string,
  expires?: string,
): string {
  return createHmac('sha1', secretAccessKey).update(stringToSignV2(mode, req, expires), 'utf8').digest('base64');
}

/** The `Authorization` header value: `OBS AK:sig` or `AWS AK:sig`. */
export function authorizationV2(mode: 'obs' | 'v2', accessKeyId: string, signature: string): string {
  return `${mode === 'obs' ? 'OBS' : 'AWS'} ${accessKeyId}:${signature}`;
}

/** Options of {@link presignV2}. */
export interface PresignV2Options {
  /**
   * Validity in seconds from `now`.
   * @defaultValue 300
   */
  expires?: number;
  /** Signing time. @defaultValue `new Date()` */
  now?: Date;
}

/** A presigned OBS/V2 request. */
export interface PresignV2Result {
  /**
   * The full query to send: the request's own parameters, then the security token (if any),
   * `AccessKeyId` (OBS) or `AWSAccessKeyId` (V2), `Expires` and `Signature`. Decoded values;
   * serialise with `formatQuery`.
   */
  query: Array<[string, string | null]>;
  /** Unix time (seconds) at which the URL expires. */
  expires: number;
  signature: string;
  stringToSign: string;
}

/**
 * Query-string authentication (temporary URL) for OBS (`AccessKeyId`/`Expires`/`Signature`,
 * obs-api.md §3.4) and AWS V2 (`AWSAccessKeyId`/...). The Expires line replaces Date; the
 * headers in `req.headers` are the ones the URL's user must send unchanged (Content-Type...).
 */
export function presignV2(
  mode: 'obs' | 'v2',
  req: SignableRequest,
  creds: Credentials,
  opts: PresignV2Options = {},
): PresignV2Result {
  const lifetime = opts.expires ?? 300;
  if (!Number.isInteger(lifetime) || lifetime < 0) throw new RangeError('expires must be a non-negative integer (seconds)');
  const expires = Math.floor((opts.now ?? new Date()).getTime() / 1000) + lifetime;
  const query: Array<[string, string | null]> = [...req.query];
  if (creds.securityToken !== undefined) query.push([`${headerPrefix(mode)}security-token`, creds.securityToken]);
  const signable: SignableRequest = { ...req, query };
  const stringToSign = stringToSignV2(mode, signable, String(expires));
  const signature = signV2(mode, signable, creds.secretAccessKey, String(expires));
  query.push(
    [mode === 'obs' ? 'AccessKeyId' : 'AWSAccessKeyId', creds.accessKeyId],
    ['Expires', String(expires)],
    ['Signature', signature],
  );
  return { query, expires, signature, stringToSign };
}

function headerValue(headers: Record<string, string>, name: string): string {
  return headers[name] ?? '';
}
