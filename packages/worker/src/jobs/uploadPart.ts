import { makeGetResult, ObsqError, type GetResult } from '@obsq/shared';
import { assertRangeReadable, fetchUrlRange, md5OfFileRange, PartBufferPool, readFileRange, resolveSourcePath } from '../sources/index.js';
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
 * Largest file part read into memory whole (once, hashed as it is read). A bigger one is read twice
 * from the file, streamed: an MD5 pass, then the PUT, so memory stays small whatever the part size.
 */
const MAX_BUFFERED_PART = 64 * 1024 * 1024;
/** Part buffers kept between parts, per worker process. */
const partBuffers = new PartBufferPool(MAX_BUFFERED_PART);

/**
 * Uploads one part: reads the byte range (into memory once, hashing it as it is read, up to
 * {@link MAX_BUFFERED_PART}), skips the PUT when ListParts already shows the part with that MD5 (a
 * retry after a lost response), else PUTs it with Content-MD5.
 */
export async function uploadPart(ctx: JobContext<'upload-part'>): Promise<GetResult<UploadPartRecordBody>> {
  // A pooled buffer goes back only after the PUT (or the early return) is over.
  const held: Buffer[] = [];
  try {
    return await readAndSend(ctx, held);
  } finally {
    for (const buf of held) partBuffers.give(buf);
  }
}

async function readAndSend(ctx: JobContext<'upload-part'>, held: Buffer[]): Promise<GetResult<UploadPartRecordBody>> {
  const { data, signal, storage } = ctx;
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

  let body: { path: string; start: number; length: number } | Buffer;
  let md5: Buffer;
  if (data.source.kind === 'file') {
    const path = await resolveSourcePath(data.source.path, ctx.sourceRoots);
    await assertRangeReadable(path, data.offset, data.size);
    if (data.size <= MAX_BUFFERED_PART) {
      const into = partBuffers.take(data.size);
      held.push(into);
      ({ body, md5 } = await readFileRange(path, data.offset, data.size, signal, into));
      await report(data.size).catch(() => undefined);
    } else {
      md5 = await md5OfFileRange(path, data.offset, data.size, signal, (n) => void report(n).catch(() => undefined));
      body = { path, start: data.offset, length: data.size };
    }
  } else {
    const fetched = await fetchUrlRange(data.source, data.offset, data.size, signal, (n) => void report(n).catch(() => undefined));
    // Counted per read: a part fetched again on a retry crossed the network again.
    ctx.metrics.bytes('upload-part', 'downloaded', fetched.body.length);
    md5 = fetched.md5;
    body = fetched.body;
  }
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

  const res = await storage.uploadPart({
    bucket: data.bucket,
    key: data.key,
    uploadId,
    partNumber: data.partNumber,
    body,
    contentLength: data.size,
    contentMd5: md5B64,
    signal,
  });
  await ctx.job.updateProgress({ bytes: data.size, total: data.size });
  ctx.metrics.bytes('upload-part', 'uploaded', data.size);
  const etag = res.body?.etag ?? '';
  // Content-MD5 already made the server verify the bytes; an ETag that is not the MD5 is normal
  // for server-side-encrypted buckets, so it is only noted.
  if (unquote(etag) !== md5Hex) ctx.logger.debug({ partNumber: data.partNumber }, 'part ETag is not the MD5 (SSE?)');
  return { ...res, body: { partNumber: data.partNumber, etag, size: data.size, md5: md5Hex } };
}
