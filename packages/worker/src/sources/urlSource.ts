import { createHash } from 'node:crypto';
import { ObsqError, urlFailure, type UrlClient } from '@obsq/shared';

/** A URL source as recorded at enqueue time. */
export interface UrlSourceRef {
  url: string;
  size: number;
  etag?: string;
  lastModified?: string;
}

/**
 * How a response's validators differ from the ones pinned at enqueue, or undefined when they match.
 * A pinned validator the response no longer sends counts as a difference: the version cannot be
 * proven.
 */
export function validatorDrift(source: Pick<UrlSourceRef, 'etag' | 'lastModified'>, headers: Record<string, string | string[] | undefined>): string | undefined {
  const header = (name: string) => {
    const v = headers[name];
    return Array.isArray(v) ? v[0] : v;
  };
  const etag = header('etag');
  if (source.etag !== undefined && etag !== source.etag) return `ETag was ${source.etag}, now ${etag ?? 'not sent'}`;
  const lastModified = header('last-modified');
  if (source.lastModified !== undefined && lastModified !== source.lastModified) {
    return `Last-Modified was ${source.lastModified}, now ${lastModified ?? 'not sent'}`;
  }
  return undefined;
}

/**
 * Fetches one byte range of a URL source with `If-Range`, so a source that changed since enqueue
 * answers 200 (whole new body) instead of 206 and the part fails instead of mixing versions. The
 * ETag and Last-Modified of every answer are compared with the pinned ones too, which catches an
 * origin that ignores If-Range.
 * Holds one part in memory: the caller's concurrency bounds the total.
 */
export async function fetchUrlRange(
  urls: UrlClient,
  source: UrlSourceRef,
  offset: number,
  size: number,
  signal: AbortSignal,
  onBytes?: (n: number) => void,
): Promise<{ body: Buffer; md5: Buffer }> {
  if (size === 0) return { body: Buffer.alloc(0), md5: createHash('md5').digest() };
  const validator = source.etag ?? source.lastModified;
  const headers: Record<string, string> = { range: `bytes=${offset}-${offset + size - 1}` };
  if (validator) headers['if-range'] = validator;
  const res = await urls.request(source.url, { headers, signal, field: 'source.url' });
  if (res.statusCode === 200 || res.statusCode === 412) {
    await res.body.dump();
    throw new ObsqError('OBSQ_SOURCE_CHANGED', `source.url: the source changed since enqueue (validator ${validator ?? 'none'} no longer matches)`, {
      permanent: true,
    });
  }
  const drift = validatorDrift(source, res.headers);
  if (drift) {
    // The origin ignored If-Range (or has none) and answered 206 from a different version.
    await res.body.dump();
    throw new ObsqError('OBSQ_SOURCE_CHANGED', `source.url: the source changed since enqueue (${drift})`, { permanent: true });
  }
  if (res.statusCode !== 206) {
    await res.body.dump();
    const permanent = res.statusCode >= 400 && res.statusCode < 500 && res.statusCode !== 408 && res.statusCode !== 429;
    throw new ObsqError('OBSQ_SOURCE', `source.url: GET range answered HTTP ${res.statusCode}`, { permanent });
  }
  const total = /\/(\d+)$/.exec(String(res.headers['content-range'] ?? ''))?.[1];
  if (total !== undefined && Number(total) !== source.size) {
    await res.body.dump();
    throw new ObsqError('OBSQ_SOURCE_CHANGED', `source.url: size is now ${total} bytes, was ${source.size} at enqueue`, { permanent: true });
  }
  const body = Buffer.allocUnsafe(size);
  let filled = 0;
  try {
    for await (const chunk of res.body) {
      const buf = chunk as Buffer;
      if (filled + buf.length > size) {
        throw new ObsqError('OBSQ_SOURCE_CHANGED', `source.url: range answer is longer than ${size} bytes`, { permanent: true });
      }
      buf.copy(body, filled);
      filled += buf.length;
      onBytes?.(buf.length);
    }
  } catch (err) {
    res.body.destroy();
    throw urlFailure(err, 'source.url', new URL(res.url).host, urls.policy.timeoutMs, signal);
  }
  if (filled !== size) {
    throw new ObsqError('OBSQ_NETWORK', `source.url: range answer ended after ${filled} of ${size} bytes`);
  }
  return { body, md5: createHash('md5').update(body).digest() };
}

/**
 * Asks the origin for the first byte and compares its validators and size with the pinned ones.
 * @throws ObsqError `OBSQ_SOURCE_CHANGED` (permanent) when they differ
 */
export async function checkUrlSourceUnchanged(urls: UrlClient, source: UrlSourceRef, signal: AbortSignal): Promise<void> {
  const res = await urls.request(source.url, { headers: { range: 'bytes=0-0' }, signal, field: 'source.url' });
  await res.body.dump().catch(() => undefined);
  if (res.statusCode >= 500 || res.statusCode === 408 || res.statusCode === 429) {
    throw new ObsqError('OBSQ_SOURCE', `source.url: GET answered HTTP ${res.statusCode}`);
  }
  const drift = validatorDrift(source, res.headers);
  if (drift) throw new ObsqError('OBSQ_SOURCE_CHANGED', `source.url: the source changed since enqueue (${drift})`, { permanent: true });
  const total = res.statusCode === 416 ? 0 : Number(/\/(\d+)$/.exec(String(res.headers['content-range'] ?? ''))?.[1] ?? Number.NaN);
  if (total !== source.size) {
    throw new ObsqError('OBSQ_SOURCE_CHANGED', `source.url: size is now ${Number.isNaN(total) ? 'unknown' : total} bytes, was ${source.size} at enqueue`, {
      permanent: true,
    });
  }
}
