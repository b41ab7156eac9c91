import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import { makeGetResult, ObsqError, type GetResult } from '@obsq/shared';
import { fetchUrlRange, resolveSourcePath } from '../sources/index.js';
import type { JobContext } from './jobContext.js';

/** Body of a `put-object` record. */
export interface PutObjectRecordBody {
  bucket: string;
  key: string;
  /** ETag as the server returned it (quoted). */
  etag: string;
  versionId: string;
  size: number;
  /** Hex MD5 of the bytes sent. */
  md5: string;
  path: 'put-object';
}

const unquote = (etag: string) => etag.replace(/^"|"$/g, '').toLowerCase();

/**
 * Reads a whole small file through one descriptor into memory, hashing the very bytes that will be
 * sent, and refuses it when its size or modification time moved while it was read (a writer
 * in the middle would otherwise give an object matching neither version).
 */
async function readWholeFile(path: string, size: number, signal: AbortSignal): Promise<Buffer> {
  const fh = await open(path, 'r').catch((cause: unknown) => {
    throw new ObsqError('OBSQ_SOURCE', `source.path: cannot open ${JSON.stringify(path)}: ${(cause as Error).message}`, { cause, permanent: true });
  });
  try {
    const before = await fh.stat();
    if (!before.isFile()) throw new ObsqError('OBSQ_SOURCE', `source.path: ${JSON.stringify(path)} is not a regular file`, { permanent: true });
    if (before.size !== size) {
      throw new ObsqError('OBSQ_SOURCE_CHANGED', `source.path: file is ${before.size} bytes, ${size} at enqueue: the source changed`, { permanent: true });
    }
    const buf = Buffer.allocUnsafe(size);
    let at = 0;
    while (at < size) {
      signal.throwIfAborted();
      const { bytesRead } = await fh.read(buf, at, Math.min(size - at, 1 << 20), at);
      if (bytesRead === 0) {
        throw new ObsqError('OBSQ_SOURCE_CHANGED', `source.path: file ended at ${at} of ${size} bytes while read: the source changed`, { permanent: true });
      }
      at += bytesRead;
    }
    const after = await fh.stat();
    if (after.size !== before.size || after.mtimeMs !== before.mtimeMs) {
      throw new ObsqError('OBSQ_SOURCE_CHANGED', 'source.path: file was modified while it was read', { permanent: true });
    }
    return buf;
  } finally {
    await fh.close();
  }
}

/** Uploads a small file or URL in one PutObject with the Content-MD5 of the bytes sent. */
export async function putObject(ctx: JobContext<'put-object'>): Promise<GetResult<PutObjectRecordBody>> {
  const { data, signal, storage } = ctx;
  let body: Buffer;
  if (data.source.kind === 'file') {
    const path = await resolveSourcePath(data.source.path, ctx.sourceRoots);
    body = await readWholeFile(path, data.size, signal);
  } else {
    body = (await fetchUrlRange(data.source, 0, data.size, signal)).body;
    ctx.metrics.bytes('put-object', 'downloaded', body.length);
  }
  const md5 = createHash('md5').update(body).digest();
  const md5Hex = md5.toString('hex');
  const res = await storage.putObject({
    bucket: data.bucket,
    key: data.key,
    body,
    contentLength: body.length,
    contentMd5: md5.toString('base64'),
    contentType: data.contentType,
    metadata: data.metadata,
    signal,
  });
  ctx.metrics.bytes('put-object', 'uploaded', body.length);
  const etag = res.body?.etag ?? '';
  // Content-MD5 made the server verify the bytes; an ETag that is not the MD5 is normal with SSE.
  if (unquote(etag) !== md5Hex) ctx.logger.debug('object ETag is not the MD5 (SSE?)');
  return makeGetResult({
    ...res,
    body: { bucket: data.bucket, key: data.key, etag, versionId: res.body?.versionId ?? '', size: body.length, md5: md5Hex, path: 'put-object' },
  });
}
