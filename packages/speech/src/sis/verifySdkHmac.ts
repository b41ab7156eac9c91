import { timingSafeEqual } from 'node:crypto';
import { EMPTY_BODY_SHA256, parseSdkDate, SDK_HMAC_ALGORITHM, sdkCanonicalRequest, sdkSignature } from './sdkHmacCanonical.js';

/** Options of {@link verifySdkHmac}. */
export interface VerifySdkHmacOptions {
  /** @defaultValue "GET" */
  method?: string;
  /** Request target as received (`req.url`): path, optionally with `?query`. */
  path: string;
  /** Headers as received, lower-case names (Node's `req.headers`). */
  headers: Record<string, string | string[] | undefined>;
  /**
   * Raw header list (Node's `req.rawHeaders`). Node keeps only the first of duplicate Host
   * headers in `headers`, so pass this to reject a request carrying two.
   */
  rawHeaders?: readonly string[];
  /** Returns the SK of an AK, or `undefined` for an unknown AK. */
  lookupSk: (ak: string) => string | undefined;
  /** Current time. @defaultValue new Date() */
  now?: Date;
  /** Allowed |X-Sdk-Date − now|, in ms. @defaultValue 900000 (15 min) */
  maxSkewMs?: number;
  /** Hex SHA-256 of the received body. @defaultValue hash of the empty body */
  bodySha256?: string;
}

/** Outcome of {@link verifySdkHmac}. Messages never contain the AK, SK or signature. */
export type VerifySdkHmacResult = { ok: true; ak: string } | { ok: false; code: 'APIGW.0301'; message: string };

const AUTH_RE = /^SDK-HMAC-SHA256\s+Access=([^,\s]+)\s*,\s*SignedHeaders=([^,\s]+)\s*,\s*Signature=([0-9a-fA-F]+)\s*$/;

function denied(reason: string): VerifySdkHmacResult {
  return { ok: false, code: 'APIGW.0301', message: `Incorrect IAM authentication information: ${reason}` };
}

function single(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v.join(',') : v;
}

/**
 * Server side of SDK-HMAC-SHA256, as APIG checks a RASR handshake (spec §9.2): `x-sdk-date` must
 * be signed and within `maxSkewMs`, `host` is the received Host header, the signature is
 * recomputed from the received values and compared in constant time.
 */
export function verifySdkHmac(opts: VerifySdkHmacOptions): VerifySdkHmacResult {
  const hostCount = opts.rawHeaders
    ? opts.rawHeaders.filter((v, i) => i % 2 === 0 && v.toLowerCase() === 'host').length
    : Array.isArray(opts.headers.host) ? opts.headers.host.length : 1;
  if (hostCount > 1) return denied('duplicate host header');

  const auth = single(opts.headers.authorization);
  if (!auth) return denied('authorization header missing');
  if (!auth.startsWith(`${SDK_HMAC_ALGORITHM} `)) return denied('unsupported authorization algorithm');
  const m = AUTH_RE.exec(auth);
  if (!m) return denied('malformed authorization header');
  const [, ak = '', signedList = '', signature = ''] = m;

  const names = signedList.split(';');
  if (names.some((n) => n === '' || n !== n.toLowerCase())) return denied('malformed SignedHeaders');
  if (!names.includes('x-sdk-date')) return denied('x-sdk-date must be signed');
  const sdkDate = single(opts.headers['x-sdk-date'])?.trim();
  if (!sdkDate) return denied('x-sdk-date header missing');
  const signedAt = parseSdkDate(sdkDate);
  if (!signedAt) return denied('x-sdk-date format invalid');
  const now = (opts.now ?? new Date()).getTime();
  if (Math.abs(now - signedAt.getTime()) > (opts.maxSkewMs ?? 15 * 60_000)) return denied('signature expired');

  const sk = opts.lookupSk(ak);
  if (sk === undefined) return denied('access key not found');

  const signedHeaders: Record<string, string> = {};
  for (const n of names) {
    const v = single(opts.headers[n]);
    if (v === undefined) return denied(`signed header ${n} missing`);
    signedHeaders[n] = v;
  }
  const q = opts.path.indexOf('?');
  const { canonicalRequest } = sdkCanonicalRequest({
    method: opts.method ?? 'GET',
    path: q < 0 ? opts.path : opts.path.slice(0, q),
    query: q < 0 ? '' : opts.path.slice(q + 1),
    signedHeaders,
    bodySha256: signedHeaders['x-sdk-content-sha256'] ?? opts.bodySha256 ?? EMPTY_BODY_SHA256,
  });
  const expected = Buffer.from(sdkSignature(sk, sdkDate, canonicalRequest), 'hex');
  const given = Buffer.from(signature.toLowerCase(), 'hex');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return denied('verify aksk signature fail');
  return { ok: true, ak };
}
