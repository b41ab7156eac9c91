import { createHash } from 'node:crypto';
import { request } from 'undici';
import { ObsqError } from '@obsq/shared';

/** A URL source as recorded at enqueue time. */
export interface UrlSourceRef {
  url: string;
  size: number;
  etag?: string;
  lastModified?: string;
}

/**
 * Fetches one byte range of a URL source with `If-Range`, so a source that changed since enqueue
 * answers 200 (whole new body) instead of 206 and the part fails instead of mixing versions.
 * Holds one part in memory: the caller's concurrency bounds the total.
 */
export async function fetchUrlRange(
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
  let res;
  try {
    res = await request(source.url, { method: 'GET', headers, signal });
  } catch (cause) {
    throw new ObsqError('OBSQ_NETWORK', `source.url: request failed: ${(cause as Error).message}`, { cause });
  }
  if (res.statusCode === 200 || res.statusCode === 412) {
    await res.body.dump();
    throw new ObsqError('OBSQ_SOURCE_CHANGED', `source.url: the source changed since enqueue (validator ${validator ?? 'none'} no longer matches)`, {
      permanent: true,
    });
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
  for await (const chunk of res.body) {
    const buf = chunk as Buffer;
    if (filled + buf.length > size) {
      throw new ObsqError('OBSQ_SOURCE_CHANGED', `source.url: range answer is longer than ${size} bytes`, { permanent: true });
    }
    buf.copy(body, filled);
    filled += buf.length;
    onBytes?.(buf.length);
  }
  if (filled !== size) {
    throw new ObsqError('OBSQ_NETWORK', `source.url: range answer ended after ${filled} of ${size} bytes`);
  }
  return { body, md5: createHash('md5').update(body).digest() };
}
