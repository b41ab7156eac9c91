import { pipeline, type Readable, Transform } from 'node:stream';
import { S3Error } from '../../errors/index.js';
import {
  normaliseEtag,
  type ObjectAttributes,
  type ObjectMeta,
  type StoredHeaderName,
  type WriteLimits,
} from '../../storage/index.js';
import { AwsChunkedDecoder } from '../awsChunked.js';
import type { RequestContext } from '../requestContext.js';
import type { HandlerEnv } from './handlerEnv.js';

const STORED: StoredHeaderName[] = ['cache-control', 'content-disposition', 'content-encoding', 'content-language', 'expires'];

/** Bucket and key of an object-level request (the router only sends those here). */
export function target(ctx: RequestContext): { bucket: string; key: string } {
  return { bucket: ctx.address.bucket as string, key: ctx.address.key as string };
}

/** Object attributes from request headers (PUT, Initiate, Copy with REPLACE). */
export function attributesFromRequest(ctx: RequestContext): ObjectAttributes {
  const metadata: Record<string, string> = {};
  for (const [name, value] of Object.entries(ctx.headers)) {
    if (name.startsWith('x-obs-meta-') || name.startsWith('x-amz-meta-')) metadata[name.slice('x-obs-meta-'.length)] = value.trim();
  }
  const headers: ObjectAttributes['headers'] = {};
  for (const name of STORED) {
    let value = ctx.headers[name];
    if (name === 'content-encoding' && value !== undefined) {
      // aws-chunked is transfer framing, not a property of the stored object.
      value = value.split(',').map((v) => v.trim()).filter((v) => v && v !== 'aws-chunked').join(',') || undefined;
    }
    if (value !== undefined) headers[name] = value;
  }
  const redirect = ctx.ext('website-redirect-location');
  if (redirect !== undefined) headers['website-redirect-location'] = redirect;
  return {
    contentType: ctx.headers['content-type'] ?? 'binary/octet-stream',
    metadata,
    headers,
    storageClass: ctx.ext('storage-class') ?? 'STANDARD',
  };
}

/** `"etag"`. */
export function quoted(etag: string): string {
  return `"${etag}"`;
}

/**
 * The ETag to answer with: the real one, or under a `wrong-etag` fault one that differs in its
 * first hex digit (a multipart ETag keeps its `-N` suffix, so only a content check can tell).
 */
export function answeredEtag(etag: string, env: Pick<HandlerEnv, 'tamper'>): string {
  if (env.tamper !== 'wrong-etag' || etag.length === 0) return etag;
  const first = Number.parseInt(etag[0]!, 16);
  return `${((Number.isNaN(first) ? 0 : first + 1) % 16).toString(16)}${etag.slice(1)}`;
}

/** Flips every bit of the first body byte as it passes: corruption in transit. */
function corruptFirstByte(): Transform {
  let done = false;
  return new Transform({
    transform(chunk: Buffer, _enc, cb) {
      if (!done && chunk.length > 0) {
        done = true;
        const copy = Buffer.from(chunk);
        copy[0] = copy[0]! ^ 0xff;
        cb(null, copy);
        return;
      }
      cb(null, chunk);
    },
  });
}

/** Headers describing an object on GET/HEAD, in the request's dialect. */
export function objectHeaders(ctx: RequestContext, meta: ObjectMeta): Record<string, string> {
  const p = ctx.prefix;
  const h: Record<string, string> = {
    'content-type': meta.contentType,
    etag: quoted(meta.etag),
    'last-modified': new Date(meta.lastModified).toUTCString(),
    'accept-ranges': 'bytes',
    [`${p}version-id`]: meta.versionId,
  };
  for (const [k, v] of Object.entries(meta.headers)) {
    h[k === 'website-redirect-location' ? `${p}${k}` : k] = v;
  }
  for (const [k, v] of Object.entries(meta.metadata)) h[`${p}meta-${k}`] = v;
  if (meta.storageClass !== 'STANDARD') h[`${p}storage-class`] = meta.storageClass;
  // OBS marks objects made by CompleteMultipartUpload so a client can resolve an ambiguous Complete.
  if (meta.uploadId !== undefined && ctx.dialect === 'obs') h['x-obs-uploadId'] = meta.uploadId;
  return h;
}

/** Conditional headers as sent (GET/HEAD `If-*`, or copy `x-*-copy-source-if-*`). */
export interface Conditions {
  ifMatch?: string;
  ifNoneMatch?: string;
  ifModifiedSince?: string;
  ifUnmodifiedSince?: string;
}

function etagMatches(list: string, etag: string): boolean {
  return list.split(',').some((e) => e.trim() === '*' || normaliseEtag(e) === etag);
}

function seconds(value: string): number | undefined {
  const t = Date.parse(value);
  return Number.isNaN(t) ? undefined : Math.floor(t / 1000);
}

/**
 * RFC 9110 precedence: If-Match, else If-Unmodified-Since (412); If-None-Match, else
 * If-Modified-Since (304 for GET/HEAD, 412 for copy sources). Returns 304 or throws 412.
 */
export function evaluateConditions(meta: ObjectMeta, c: Conditions, forCopy: boolean): 304 | undefined {
  const modified = Math.floor(Date.parse(meta.lastModified) / 1000);
  if (c.ifMatch !== undefined) {
    if (!etagMatches(c.ifMatch, meta.etag)) throw precondition(forCopy ? 'copy-source-if-match' : 'If-Match');
  } else if (c.ifUnmodifiedSince !== undefined) {
    const t = seconds(c.ifUnmodifiedSince);
    if (t !== undefined && modified > t) throw precondition(forCopy ? 'copy-source-if-unmodified-since' : 'If-Unmodified-Since');
  }
  let notModified = false;
  if (c.ifNoneMatch !== undefined) {
    notModified = etagMatches(c.ifNoneMatch, meta.etag);
  } else if (c.ifModifiedSince !== undefined) {
    const t = seconds(c.ifModifiedSince);
    // Dates later than the server's clock are ignored (OBS and RFC 9110).
    notModified = t !== undefined && t * 1000 <= Date.now() && modified <= t;
  }
  if (!notModified) return undefined;
  if (forCopy) throw precondition(c.ifNoneMatch !== undefined ? 'copy-source-if-none-match' : 'copy-source-if-modified-since');
  return 304;
}

function precondition(condition: string): S3Error {
  return new S3Error('PreconditionFailed', undefined, { extra: { Condition: condition } });
}

/** The copy-source conditions of a request. */
export function copySourceConditions(ctx: RequestContext): Conditions {
  const c: Conditions = {};
  const m = ctx.ext('copy-source-if-match');
  const nm = ctx.ext('copy-source-if-none-match');
  const ms = ctx.ext('copy-source-if-modified-since');
  const us = ctx.ext('copy-source-if-unmodified-since');
  if (m !== undefined) c.ifMatch = m;
  if (nm !== undefined) c.ifNoneMatch = nm;
  if (ms !== undefined) c.ifModifiedSince = ms;
  if (us !== undefined) c.ifUnmodifiedSince = us;
  return c;
}

/** A parsed copy source header. */
export interface CopySource {
  bucket: string;
  key: string;
  versionId?: string;
}

/**
 * Parses `x-obs-copy-source` / `x-amz-copy-source`: `/bucket/key`, `bucket/key`, or the esdk form
 * `bucket%2Fkey`, each optionally followed by `?versionId=V`.
 */
export function parseCopySource(value: string): CopySource {
  let path = value.trim();
  let versionId: string | undefined;
  const q = path.indexOf('?');
  if (q >= 0) {
    const params = new URLSearchParams(path.slice(q + 1));
    versionId = params.get('versionId') ?? undefined;
    path = path.slice(0, q);
  }
  let decoded: string;
  try {
    decoded = decodeURIComponent(path);
  } catch (err) {
    throw new S3Error('InvalidArgument', 'Invalid copy source encoding.', { cause: err });
  }
  decoded = decoded.replace(/^\//, '');
  const slash = decoded.indexOf('/');
  if (slash <= 0 || slash === decoded.length - 1) {
    throw new S3Error('InvalidArgument', 'Copy Source must mention the source bucket and key: sourcebucket/sourcekey');
  }
  return { bucket: decoded.slice(0, slash), key: decoded.slice(slash + 1), ...(versionId ? { versionId } : {}) };
}

/** What S3 answers when a required Content-MD5 is absent. */
export function missingContentMd5(): S3Error {
  return new S3Error('InvalidRequest', 'Missing required header for this request: Content-MD5.');
}

/**
 * The request body as payload bytes, with the checks the store applies while it streams:
 * aws-chunked framing removed, Content-MD5 (refused when absent under `requireContentMd5`), a
 * signed hex SHA-256 and the exact length. A `corrupt-body` fault flips a byte before those checks.
 */
export function requestBody(
  ctx: RequestContext,
  env: Pick<HandlerEnv, 'auth' | 'settings' | 'tamper'>,
  maxBytes: number,
): { body: Readable; limits: WriteLimits } {
  const { auth } = env;
  const h = ctx.headers;
  if (h['content-length'] === undefined && h['transfer-encoding'] === undefined) throw new S3Error('MissingContentLength');
  const chunked = (h['content-encoding'] ?? '').split(',').some((v) => v.trim() === 'aws-chunked') ||
    (h['x-amz-content-sha256'] ?? '').startsWith('STREAMING-');
  const limits: WriteLimits = { maxBytes };
  if (h['content-md5'] !== undefined) limits.contentMd5 = h['content-md5'];
  else if (env.settings.requireContentMd5) throw missingContentMd5();
  if (auth.payloadHash !== undefined && /^[0-9a-fA-F]{64}$/.test(auth.payloadHash)) limits.sha256 = auth.payloadHash;
  const declared = chunked ? h['x-amz-decoded-content-length'] : h['content-length'];
  if (declared !== undefined) {
    const n = Number(declared);
    if (!Number.isSafeInteger(n) || n < 0) throw new S3Error('InvalidArgument', 'Invalid content length.');
    if (n > maxBytes) throw new S3Error('EntityTooLarge');
    limits.length = n;
  }
  // pipeline() (not pipe) so a client abort also fails the decoder and the store's write.
  let body: Readable = chunked ? pipeline(ctx.req, new AwsChunkedDecoder(), () => undefined) : ctx.req;
  if (env.tamper === 'corrupt-body') body = pipeline(body, corruptFirstByte(), () => undefined);
  return { body, limits };
}
