import { createHash } from 'node:crypto';
import aws4 from 'aws4';
import type { RequestSigner } from 'aws4';
import { formatQuery } from './encoding.js';
import type { Credentials, SignableRequest } from './types.js';

/** hex SHA-256 of the empty string: the payload hash of a bodiless request. */
export const EMPTY_SHA256 = createHash('sha256').update('').digest('hex');

/** `YYYYMMDDTHHMMSSZ`, the SigV4 timestamp format. */
export function formatAmzDate(date: Date): string {
  return date.toISOString().replace(/[:-]|\.\d{3}/g, '');
}

/** Parses `YYYYMMDDTHHMMSSZ` back into a Date (undefined when malformed). */
export function parseAmzDate(value: string): Date | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(value);
  if (!m) return undefined;
  const d = new Date(Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!));
  return Number.isNaN(d.getTime()) ? undefined : d;
}

/** Headers a V4 signer never signs by default (hop-by-hop or rewritten by proxies). */
const NEVER_SIGNED = new Set([
  'authorization', 'connection', 'expect', 'keep-alive', 'te', 'trailer', 'transfer-encoding',
  'upgrade', 'user-agent', 'x-amzn-trace-id', 'proxy-authorization',
]);

/** Options of {@link signV4} and {@link presignV4}. */
export interface SignV4Options {
  /** Region in the credential scope, e.g. `cn-north-4`, `us-east-1`. */
  region: string;
  /** Service in the credential scope. @defaultValue `'s3'` */
  service?: string;
  /** Signing time; becomes `x-amz-date` / `X-Amz-Date` and the scope date. */
  date: Date;
  /**
   * Exactly which headers to sign (lower-case). A server recomputing a received signature passes
   * the request's `SignedHeaders` here. @defaultValue every header in `req.headers` except
   * hop-by-hop ones, plus `host` (and `x-amz-date`/`x-amz-security-token` when added).
   */
  signedHeaders?: string[];
  /**
   * Last line of the canonical request: hex SHA-256 of the body, `UNSIGNED-PAYLOAD` or a
   * `STREAMING-*` value, as sent. @defaultValue the `x-amz-content-sha256` header when present,
   * else the SHA-256 of an empty body. When the header is present it must equal this value.
   */
  payloadHash?: string;
}

/** A computed V4 header signature. */
export interface SignV4Result {
  /** `AWS4-HMAC-SHA256 Credential=AK/scope, SignedHeaders=a;b, Signature=hex`. */
  authorization: string;
  /** hex HMAC-SHA256. */
  signature: string;
  signedHeaders: string[];
  /** `YYYYMMDDTHHMMSSZ`. */
  amzDate: string;
  canonicalRequest: string;
  stringToSign: string;
  /**
   * Headers that were signed but were not in `req.headers` (`x-amz-date`,
   * `x-amz-security-token`): the caller must send them.
   */
  addedHeaders: Record<string, string>;
}

type V4Request = SignableRequest & {
  /** Host header value as sent (`bucket.obs.example.com`, `127.0.0.1:9000`). */
  host: string;
};

interface PreparedV4 {
  signer: RequestSigner;
  signedHeaders: string[];
  addedHeaders: Record<string, string>;
  amzDate: string;
}

/**
 * Builds the aws4 signer with every input pinned: aws4 must not add, drop or guess anything,
 * because the server recomputes through this same function and both sides have to agree.
 */
function prepare(req: V4Request, creds: Credentials, opts: SignV4Options, signQuery: boolean): PreparedV4 {
  const amzDate = formatAmzDate(opts.date);
  const headers: Record<string, string> = {};
  for (const [n, v] of Object.entries(req.headers)) headers[n.toLowerCase()] = v;
  const addedHeaders: Record<string, string> = {};
  if (headers.host === undefined) headers.host = req.host;

  let signed: string[];
  if (opts.signedHeaders !== undefined) {
    signed = [...new Set(opts.signedHeaders.map((h) => h.toLowerCase()))];
  } else {
    if (!signQuery) {
      if (headers['x-amz-date'] === undefined && headers.date === undefined) {
        headers['x-amz-date'] = amzDate;
        addedHeaders['x-amz-date'] = amzDate;
      }
      if (creds.securityToken !== undefined && headers['x-amz-security-token'] === undefined) {
        headers['x-amz-security-token'] = creds.securityToken;
        addedHeaders['x-amz-security-token'] = creds.securityToken;
      }
    }
    signed = Object.keys(headers).filter((h) => !NEVER_SIGNED.has(h));
  }
  signed.sort();

  const sent = headers['x-amz-content-sha256'];
  if (opts.payloadHash !== undefined && sent !== undefined && sent !== opts.payloadHash) {
    throw new Error('payloadHash differs from the x-amz-content-sha256 header');
  }
  const payloadHash = opts.payloadHash ?? sent ?? EMPTY_SHA256;

  const signedSet = new Set(signed);
  const toSign: Record<string, string> = {};
  for (const h of signed) toSign[h] = headers[h] ?? '';
  const include: Record<string, boolean> = Object.create(null) as Record<string, boolean>;
  for (const h of signed) include[h] = true;
  const ignore: Record<string, boolean> = Object.create(null) as Record<string, boolean>;
  // aws4 reads the payload hash only from this header; carry it unsigned when it is not signed.
  if (!signQuery && !signedSet.has('x-amz-content-sha256')) {
    toSign['x-amz-content-sha256'] = payloadHash;
    ignore['x-amz-content-sha256'] = true;
  } else if (!signQuery) {
    toSign['x-amz-content-sha256'] = payloadHash;
  }

  const query = req.query.length > 0 ? `?${formatQuery(req.query)}` : '';
  const request = {
    method: req.method.toUpperCase(),
    host: req.host,
    // A raw `+` on the wire is a literal plus; aws4 would decode it as a space.
    path: req.path.replace(/\+/g, '%2B') + query,
    headers: toSign,
    service: opts.service ?? 's3',
    region: opts.region,
    signQuery,
    doNotModifyHeaders: true,
    extraHeadersToInclude: include,
    extraHeadersToIgnore: ignore,
  };
  const signer = new aws4.RequestSigner(request, {
    accessKeyId: creds.accessKeyId,
    secretAccessKey: creds.secretAccessKey,
    ...(signQuery && creds.securityToken !== undefined ? { sessionToken: creds.securityToken } : {}),
  });
  signer.datetime = amzDate;
  return { signer, signedHeaders: signed, addedHeaders, amzDate };
}

/**
 * AWS SigV4 header authentication, via the `aws4` library. Also used by the server to recompute a
 * received signature: pass the received headers, `signedHeaders` from the Authorization header,
 * `date` from `x-amz-date` and the region/service from the credential scope.
 */
export function signV4(req: V4Request, creds: Credentials, opts: SignV4Options): SignV4Result {
  const { signer, signedHeaders, addedHeaders, amzDate } = prepare(req, creds, opts, false);
  const canonicalRequest = signer.canonicalString();
  const stringToSign = signer.stringToSign();
  const signature = signer.signature();
  return {
    authorization: signer.authHeader(),
    signature,
    signedHeaders,
    amzDate,
    canonicalRequest,
    stringToSign,
    addedHeaders,
  };
}

/** Options of {@link presignV4}. */
export interface PresignV4Options extends Omit<SignV4Options, 'payloadHash'> {
  /**
   * Validity in seconds (`X-Amz-Expires`), 1..604800.
   * @defaultValue 300
   */
  expires?: number;
}

/** A presigned V4 request. */
export interface PresignV4Result {
  /** The full query to send (decoded values), ending with `X-Amz-Signature`. */
  query: Array<[string, string | null]>;
  signature: string;
  signedHeaders: string[];
  amzDate: string;
  canonicalRequest: string;
  stringToSign: string;
}

const V4_QUERY_AUTH = new Set([
  'x-amz-algorithm', 'x-amz-credential', 'x-amz-date', 'x-amz-expires', 'x-amz-signedheaders',
  'x-amz-signature',
]);

/**
 * SigV4 query authentication (`X-Amz-Algorithm`...`X-Amz-Signature`), payload `UNSIGNED-PAYLOAD`.
 * Any `X-Amz-*` auth parameters already in `req.query` are replaced, so a server can recompute
 * from a received query by passing `date`, `expires` and `signedHeaders` read from it.
 * A security token already in the query is kept (and signed); otherwise `creds.securityToken`
 * is added as `X-Amz-Security-Token`.
 */
export function presignV4(req: V4Request, creds: Credentials, opts: PresignV4Options): PresignV4Result {
  const expires = opts.expires ?? 300;
  if (!Number.isInteger(expires) || expires < 1 || expires > 604_800) {
    throw new RangeError('expires must be an integer from 1 to 604800 (seconds)');
  }
  const amzDate = formatAmzDate(opts.date);
  const base = req.query.filter(([k]) => !V4_QUERY_AUTH.has(k.toLowerCase()));
  const hasToken = base.some(([k]) => k.toLowerCase() === 'x-amz-security-token');
  const withDate: Array<[string, string | null]> = [
    ...base,
    ['X-Amz-Date', amzDate],
    ['X-Amz-Expires', String(expires)],
  ];
  const { signer, signedHeaders } = prepare(
    { ...req, query: withDate },
    hasToken ? { accessKeyId: creds.accessKeyId, secretAccessKey: creds.secretAccessKey } : creds,
    opts,
    true,
  );
  const canonicalRequest = signer.canonicalString();
  const stringToSign = signer.stringToSign();
  const signature = signer.signature();
  const scope = `${amzDate.slice(0, 8)}/${opts.region}/${opts.service ?? 's3'}/aws4_request`;
  const query: Array<[string, string | null]> = [
    ...base,
    ['X-Amz-Algorithm', 'AWS4-HMAC-SHA256'],
    ['X-Amz-Credential', `${creds.accessKeyId}/${scope}`],
    ['X-Amz-Date', amzDate],
    ['X-Amz-Expires', String(expires)],
    ['X-Amz-SignedHeaders', signedHeaders.join(';')],
  ];
  if (!hasToken && creds.securityToken !== undefined) query.push(['X-Amz-Security-Token', creds.securityToken]);
  query.push(['X-Amz-Signature', signature]);
  return { query, signature, signedHeaders, amzDate, canonicalRequest, stringToSign };
}
