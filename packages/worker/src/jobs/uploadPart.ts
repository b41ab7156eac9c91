import { makeGetResult, ObsqError, type GetResult } from '@obsq/shared';
import type { StreamFactory } from '@obsq/storage';
import { fetchUrlRange, openPinnedFile, PartBufferPool, readFilePart, IN_MEMORY_PART_MAX, type PinnedFile } from '../sources/index.js';
import type { JobContext } from './jobContext.js';
import { partUploadId } from './multipartUpload.js';

/** Body of an `upload-part` job's GetResult record. */
export interface UploadPartRecordBody {
  partNumber: number;
  /** Part ETag as the server returned it (quoted). */
  etag: string;
  size: number;
  /** Hex MD5 of the part's bytes. */
  md5: string;
}

const unquote = (etag: string) => etag.replace(/^"|"$/g, '').toLowerCase();

/**
/** Part buffers kept between parts, per worker process (parts up to IN_MEMORY_PART_MAX). */
const partBuffers = new PartBufferPool(IN_MEMORY_PART_MAX);

/**
 * Uploads one part: reads the byte range once (a file through its verified, pinned descriptor into
 * a pooled buffer; a URL with its validator checked), hashes those very bytes, skips the PUT when
 * ListParts already shows the part with that MD5 (a retry after a lost response), else PUTs them
 * with Content-MD5.
 */
export async function uploadPart(ctx: JobContext<'upload-part'>): Promise<GetResult<UploadPartRecordBody>> {
  const { data, signal } = ctx;
  // Progress goes to Redis: at most a few writes per part, not one per chunk read. Reading the range
  // (and its MD5) counts as the first half of the work, the PUT as the second.
  let done = 0;
  let reported = 0;
  const step = Math.max(1, Math.floor(data.size / 4));
  const report = async (n: number) => {
    done += n;
    if (done - reported < step) return;
    reported = done;
    await ctx.job.updateProgress({ bytes: Math.floor(Math.min(done, data.size) / 2), total: data.size });
  };

  const onBytes = (n: number) => void report(n).catch(() => undefined);
  let file: PinnedFile | undefined;
  // A pooled buffer goes back only after the PUT (or the early return) is over.
  let held: Buffer | undefined;
  try {
    let body: Buffer | StreamFactory;
    let md5: Buffer;
    if (data.source.kind === 'file') {
      file = await openPinnedFile(ctx.sourceRoots, data.source, { hardlinks: ctx.settings.sourceHardlinks, signal });
      if (data.size <= IN_MEMORY_PART_MAX) held = partBuffers.take(data.size);
      ({ body, md5 } = await readFilePart(file, data.offset, data.size, signal, onBytes, held));
    } else {
      ({ body, md5 } = await fetchUrlRange(ctx.settings.urls, data.source, data.offset, data.size, signal, onBytes));
      // Counted per read: a part fetched again on a retry crossed the network again.
      ctx.metrics.bytes('upload-part', 'downloaded', data.size);
    }
    return await sendPart(ctx, body, md5, file);
  } finally {
    await file?.close();
    if (held) partBuffers.give(held);
  }
}

/** Sends the bytes read (or finds them already on the server after a lost answer). */
async function sendPart(
  ctx: JobContext<'upload-part'>,
  body: Buffer | StreamFactory,
  md5: Buffer,
  file: PinnedFile | undefined,
): Promise<GetResult<UploadPartRecordBody>> {
  const { data, signal, storage } = ctx;
  const md5Hex = md5.toString('hex');
  const md5B64 = md5.toString('base64');
  if (data.contentMd5 && data.contentMd5 !== md5B64) {
    throw new ObsqError('OBSQ_SOURCE_CHANGED', `source: part ${data.partNumber} bytes no longer match the MD5 taken at enqueue`, {
      permanent: true,
    });
  }

  const uploadId = await partUploadId(ctx);
  if (ctx.attempt > 1) {
    const listed = await storage.listAllParts({ bucket: data.bucket, key: data.key, uploadId, signal });
    const existing = listed.find((p) => p.partNumber === data.partNumber);
    if (existing && unquote(existing.etag) === md5Hex && existing.size === data.size) {
      ctx.logger.info({ partNumber: data.partNumber }, 'part already on the server with the right ETag; not sent again');
      await ctx.job.updateProgress({ bytes: data.size, total: data.size });
      return makeGetResult({
        status: 200,
        reason: 'OK',
        body: { partNumber: data.partNumber, etag: existing.etag, size: data.size, md5: md5Hex },
      });
    }
  }

  let res;
  try {
    res = await storage.uploadPart({
      bucket: data.bucket,
      key: data.key,
      uploadId,
      partNumber: data.partNumber,
      body,
      contentLength: data.size,
      contentMd5: md5B64,
      signal,
    });
  } catch (err) {
    // A streamed part whose file changed mid-send fails the server's Content-MD5 check: say why.
    if (file && !Buffer.isBuffer(body)) await file.verify(`while sending part ${data.partNumber}`);
    throw err;
  }
  // A streamed part was read twice; the pin proves both reads saw the enqueued version.
  if (file && !Buffer.isBuffer(body)) await file.verify(`after sending part ${data.partNumber}`);
  await ctx.job.updateProgress({ bytes: data.size, total: data.size });
  ctx.metrics.bytes('upload-part', 'uploaded', data.size);
  const etag = res.body?.etag ?? '';
  // Content-MD5 already made the server verify the bytes; an ETag that is not the MD5 is normal
  // for server-side-encrypted buckets, so it is only noted.
  if (unquote(etag) !== md5Hex) ctx.logger.debug({ partNumber: data.partNumber }, 'part ETag is not the MD5 (SSE?)');
  return { ...res, body: { partNumber: data.partNumber, etag, size: data.size, md5: md5Hex } };
}
