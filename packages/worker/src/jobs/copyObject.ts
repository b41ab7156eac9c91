import type { CopyObjectBody } from '@obsq/storage';
import type { GetResult } from '@obsq/shared';
import type { JobContext } from './jobContext.js';

/** Record body of a copy: the OBS SDK's CopyObjectResponse plus the path taken and the size. */
export interface CopyRecordBody extends CopyObjectBody {
  path: 'single' | 'multipart';
  size: number;
}

/** Record body of one part of a multipart copy (read by complete-multipart). */
export interface CopyPartRecordBody {
  partNumber: number;
  etag: string;
  size: number;
  lastModified: string;
}

/**
 * Server-side copy: one CopyObject (`single`), or one UploadPartCopy byte range of a multipart copy
 * (`part`), pinned to the source ETag seen at enqueue. No bytes pass through the worker.
 */
export async function copyObject(ctx: JobContext<'copy-object'>): Promise<GetResult<CopyRecordBody | CopyPartRecordBody>> {
  const { data, storage, signal } = ctx;
  const source = { sourceBucket: data.source.bucket, sourceKey: data.source.key, sourceVersionId: data.source.versionId, ifMatch: data.ifMatch };
  if (data.mode === 'part') {
    const range = data.range!;
    const res = await storage.uploadPartCopy({
      bucket: data.target.bucket,
      key: data.target.key,
      uploadId: data.uploadId!,
      partNumber: data.partNumber!,
      range,
      ...source,
      signal,
    });
    const size = range.end - range.start + 1;
    ctx.metrics.bytes('copy-object', 'copied', size);
    await ctx.job.updateProgress({ bytes: size, total: size });
    return { ...res, body: { partNumber: data.partNumber!, etag: res.body!.etag, size, lastModified: res.body!.lastModified } };
  }
  const res = await storage.copyObject({
    bucket: data.target.bucket,
    key: data.target.key,
    metadataDirective: data.metadataDirective,
    metadata: data.metadata,
    contentType: data.contentType,
    ...source,
    signal,
  });
  const head = await storage.headObject({ bucket: data.target.bucket, key: data.target.key, signal });
  const size = Number(head.body?.contentLength ?? 0);
  ctx.metrics.bytes('copy-object', 'copied', size);
  return { ...res, body: { ...res.body!, path: 'single', size } };
}
