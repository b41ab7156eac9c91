import { createHash, createHmac } from 'node:crypto';

/** Algorithm name in `Authorization` and the first line of the string to sign. */
export const SDK_HMAC_ALGORITHM = 'SDK-HMAC-SHA256';
/** Header carrying the signing time, `YYYYMMDDTHHMMSSZ` (UTC). */
export const SDK_DATE_HEADER = 'X-Sdk-Date';
/** SHA-256 of the empty body; every WebSocket handshake signs this. */
export const EMPTY_BODY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

/** Formats a date as `X-Sdk-Date` wants it, e.g. `20240102T030405Z`. */
export function formatSdkDate(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z').replace(/[-:]/g, '');
}

/** Parses an `X-Sdk-Date` value; `undefined` when it is not `YYYYMMDDTHHMMSSZ`. */
export function parseSdkDate(value: string): Date | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(value);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s] = m.map(Number) as [number, number, number, number, number, number, number];
  const ms = Date.UTC(y, mo - 1, d, h, mi, s);
  const date = new Date(ms);
  // Reject roll-over dates such as 20240230 that Date.UTC silently normalises.
  return formatSdkDate(date) === value ? date : undefined;
}

/** Python `quote(s, safe='~')`: RFC 3986 unreserved characters stay, everything else is %XX (upper-case). */
export function sdkUrlEncode(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** Decode the path, encode each segment, and always end in `/` (the URL sent has no trailing slash). */
export function sdkCanonicalUri(path: string): string {
  const uri = path.split('/').map((seg) => sdkUrlEncode(safeDecode(seg))).join('/');
  return uri.endsWith('/') ? uri : `${uri}/`;
}

/** Keys sorted, `k=v` both encoded, repeated keys' values sorted, joined with `&`; empty for no query. */
export function sdkCanonicalQuery(search: string): string {
  const q = search.startsWith('?') ? search.slice(1) : search;
  if (q === '') return '';
  const byKey = new Map<string, string[]>();
  for (const part of q.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const k = safeDecode((eq < 0 ? part : part.slice(0, eq)).replace(/\+/g, ' '));
    const v = eq < 0 ? '' : safeDecode(part.slice(eq + 1).replace(/\+/g, ' '));
    byKey.set(k, [...(byKey.get(k) ?? []), v]);
  }
  const out: string[] = [];
  for (const k of [...byKey.keys()].sort()) {
    for (const v of (byKey.get(k) ?? []).sort()) out.push(`${sdkUrlEncode(k)}=${sdkUrlEncode(v)}`);
  }
  return out.join('&');
}

/** Input of {@link sdkCanonicalRequest}: names lower-case, values as they will be (or were) sent. */
export interface SdkCanonicalInput {
  method: string;
  path: string;
  /** Raw query string, with or without the leading `?`. */
  query: string;
  /** Lower-case name → value, for exactly the signed headers. */
  signedHeaders: Record<string, string>;
  /** Hex SHA-256 of the body. */
  bodySha256: string;
}

/** The canonical request text, and the sorted `SignedHeaders` list (spec §2.3 step 4). */
export function sdkCanonicalRequest(input: SdkCanonicalInput): { canonicalRequest: string; signedHeaderNames: string } {
  const names = Object.keys(input.signedHeaders).sort();
  const canonicalHeaders = names.map((n) => `${n}:${(input.signedHeaders[n] ?? '').trim()}\n`).join('');
  const signedHeaderNames = names.join(';');
  const canonicalRequest = [
    input.method.toUpperCase(),
    sdkCanonicalUri(input.path),
    sdkCanonicalQuery(input.query),
    canonicalHeaders,
    signedHeaderNames,
    input.bodySha256,
  ].join('\n');
  return { canonicalRequest, signedHeaderNames };
}

/** Lower-case hex signature of a canonical request: HMAC-SHA256 keyed by the SK itself, no key chain. */
export function sdkSignature(sk: string, sdkDate: string, canonicalRequest: string): string {
  const hashed = createHash('sha256').update(canonicalRequest, 'utf8').digest('hex');
  const stringToSign = `${SDK_HMAC_ALGORITHM}\n${sdkDate}\n${hashed}`;
  return createHmac('sha256', Buffer.from(sk, 'utf8')).update(stringToSign, 'utf8').digest('hex');
}

/** Hex SHA-256 of a request body. */
export function sha256Hex(body: string | Uint8Array): string {
  return createHash('sha256').update(body).digest('hex');
}
