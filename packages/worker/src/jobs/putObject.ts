import { makeGetResult, ObsqError, type GetResult } from '@obsq/shared';
import type { StreamFactory } from '@obsq/storage';
import { fetchUrlRange, openPinnedFile, readFilePart, type PinnedFile } from '../sources/index.js';
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

/** Uploads a small file or URL in one PutObject with the Content-MD5 of the bytes sent. */
export async function putObject(ctx: JobContext<'put-object'>): Promise<GetResult<PutObjectRecordBody>> {
  const { data, signal, storage } = ctx;
  let file: PinnedFile | undefined;
  try {
    let body: Buffer | StreamFactory;
    let md5: Buffer;
    if (data.source.kind === 'file') {
      // Opened once, verified inside the roots and against the pin taken at enqueue (size, mtime,
      // inode); read through that descriptor only, the pin checked before and after.
      file = await openPinnedFile(ctx.sourceRoots, data.source, { hardlinks: ctx.settings.sourceHardlinks, signal });
      if (file.size !== data.size) {
        throw new ObsqError('OBSQ_SOURCE_CHANGED', `source.path: file is ${file.size} bytes, ${data.size} at enqueue: the source changed`, { permanent: true });
      }
      ({ body, md5 } = await readFilePart(file, 0, data.size, signal));
    } else {
      ({ body, md5 } = await fetchUrlRange(ctx.settings.urls, data.source, 0, data.size, signal));
      ctx.metrics.bytes('put-object', 'downloaded', data.size);
    }
    const md5Hex = md5.toString('hex');
    const res = await storage.putObject({
      bucket: data.bucket,
      key: data.key,
      body,
      contentLength: data.size,
      contentMd5: md5.toString('base64'),
      contentType: data.contentType,
      metadata: data.metadata,
      signal,
    });
    // A streamed body was read twice; the pin proves both reads saw the enqueued version.
    if (file && !Buffer.isBuffer(body)) await file.verify('after sending');
    ctx.metrics.bytes('put-object', 'uploaded', data.size);
    const etag = res.body?.etag ?? '';
    // Content-MD5 made the server verify the bytes; an ETag that is not the MD5 is normal with SSE.
    if (unquote(etag) !== md5Hex) ctx.logger.debug('object ETag is not the MD5 (SSE?)');
    return makeGetResult({
      ...res,
      body: { bucket: data.bucket, key: data.key, etag, versionId: res.body?.versionId ?? '', size: data.size, md5: md5Hex, path: 'put-object' },
    });
  } finally {
    await file?.close();
  }
}
