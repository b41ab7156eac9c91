import {
  EMPTY_BODY_SHA256,
  formatSdkDate,
  SDK_DATE_HEADER,
  SDK_HMAC_ALGORITHM,
  sdkCanonicalRequest,
  sdkSignature,
  sha256Hex,
} from './sdkHmacCanonical.js';

/** Options of {@link signSdkHmacRequest}. */
export interface SignSdkHmacRequestOptions {
  /** @defaultValue "GET" */
  method?: string;
  /** Full URL; its authority (`host[:port]`, default port omitted, as Node sends `Host`) is signed. */
  url: string | URL;
  /** Extra headers to sign and send (e.g. `Content-Type`, `Enterprise-Project-Id`). */
  headers?: Record<string, string>;
  /** @defaultValue empty */
  body?: string | Uint8Array;
  /** Access key id. Secret-adjacent: never log it. */
  ak: string;
  /** Secret access key. Never log it or put it in a job payload. */
  sk: string;
  /** Signing time. @defaultValue now */
  date?: Date;
}

/** Result of {@link signSdkHmacRequest}. */
export interface SdkHmacSignature {
  /** Every header that was signed, including `host`, plus `Authorization`. */
  headers: Record<string, string>;
  /** `host;x-sdk-date`-style list. */
  signedHeaders: string;
  /** Lower-case hex. */
  signature: string;
}

/**
 * Signs a request with Huawei APIG's SDK-HMAC-SHA256 (spec §2.3): `X-Sdk-Date` and `host` are
 * added, every header given is signed, and the body is hashed unless `x-sdk-content-sha256` is set.
 */
export function signSdkHmacRequest(opts: SignSdkHmacRequestOptions): SdkHmacSignature {
  const url = typeof opts.url === 'string' ? new URL(opts.url) : opts.url;
  const headers: Record<string, string> = { ...opts.headers };
  const lower = new Map(Object.keys(headers).map((k) => [k.toLowerCase(), k]));
  if (!lower.has('x-sdk-date')) {
    headers[SDK_DATE_HEADER] = formatSdkDate(opts.date ?? new Date());
    lower.set('x-sdk-date', SDK_DATE_HEADER);
  }
  if (!lower.has('host')) {
    headers.host = url.host;
    lower.set('host', 'host');
  }
  const signed: Record<string, string> = {};
  for (const [l, orig] of lower) signed[l] = headers[orig] ?? '';
  const body = opts.body ?? '';
  const bodySha256 = signed['x-sdk-content-sha256'] ?? (body.length === 0 ? EMPTY_BODY_SHA256 : sha256Hex(body));
  const { canonicalRequest, signedHeaderNames } = sdkCanonicalRequest({
    method: opts.method ?? 'GET',
    path: url.pathname,
    query: url.search,
    signedHeaders: signed,
    bodySha256,
  });
  const signature = sdkSignature(opts.sk, signed['x-sdk-date'] ?? '', canonicalRequest);
  headers.Authorization = `${SDK_HMAC_ALGORITHM} Access=${opts.ak}, SignedHeaders=${signedHeaderNames}, Signature=${signature}`;
  return { headers, signedHeaders: signedHeaderNames, signature };
}

/** Options of {@link signWebsocketHandshake}. */
export interface SignWebsocketHandshakeOptions {
  /** `ws://` or `wss://` URL exactly as it will be dialled (no trailing slash, no query). */
  url: string | URL;
  /** Access key id. Never log it. */
  ak: string;
  /** Secret access key. Never log it. */
  sk: string;
  /** Signing time. @defaultValue now */
  date?: Date;
  /** Extra headers to sign and send, e.g. `Enterprise-Project-Id`. */
  headers?: Record<string, string>;
}

/** Headers to pass to `new WebSocket(url, { headers })`. */
export type SisHandshakeHeaders = Record<string, string> & { 'X-Sdk-Date': string; Authorization: string };

/**
 * Headers for an AK/SK-signed RASR WebSocket upgrade. `host` is signed but deliberately NOT
 * returned: `ws` adds its own Host header, and two Host headers fail APIG auth with 401.
 * The scheme is not signed, so `wss:` signs like `https:`.
 */
export function signWebsocketHandshake(opts: SignWebsocketHandshakeOptions): SisHandshakeHeaders {
  const { headers } = signSdkHmacRequest({
    method: 'GET',
    url: opts.url,
    ak: opts.ak,
    sk: opts.sk,
    ...(opts.date ? { date: opts.date } : {}),
    ...(opts.headers ? { headers: opts.headers } : {}),
  });
  for (const k of Object.keys(headers)) if (k.toLowerCase() === 'host') delete headers[k];
  return headers as SisHandshakeHeaders;
}
