import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { abandonWorkerSideUpload, ObsqError, publishedUploadId, UPLOAD_ID_ABORTED, UPLOAD_ID_PENDING, uploadIdKey } from '@obsq/shared';
import type { JobContext } from './jobContext.js';


/** How long a published upload id is kept: a week, like the records of the jobs that use it. */
const UPLOAD_ID_TTL_SECONDS = 7 * 24 * 3600;

/** How long one part may hold the right to initiate before another takes over, in seconds. */
const INITIATE_LEASE_SECONDS = 60;
const PENDING = UPLOAD_ID_PENDING;

// Replaces our lease with the upload id, only if the lease is still ours.
const PUBLISH = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2], 'EX', tonumber(ARGV[3]))
  return 1
end
return 0
`;

/**
 * The upload id of a part's multipart upload: given in the payload, or initiated on the worker side.
 * The first part to run takes a lease (`SET NX`) and initiates; the others wait for the id it
 * publishes (bounded by the lease and the job's signal). A part whose lease lapsed (it died)
 * is replaced by the next one. A failed InitiateMultipartUpload is retried like any part step.
 */
export async function partUploadId(ctx: JobContext<'upload-part'>): Promise<string> {
  const { data } = ctx;
  if (data.uploadId !== undefined) return data.uploadId;
  const parentId = ctx.job.parent?.id;
  if (!parentId || !data.initiate) {
    throw new ObsqError('OBSQ_VALIDATION', 'upload-part: a part without uploadId must be the child of a complete-multipart job', { permanent: true });
  }
  const key = uploadIdKey(ctx.prefix, parentId);
  const lease = `${PENDING}${randomUUID()}`;
  for (;;) {
    const got = await ctx.redis.set(key, lease, 'EX', INITIATE_LEASE_SECONDS, 'NX');
    if (got === 'OK') break;
    const value = await ctx.redis.get(key);
    if (value === UPLOAD_ID_ABORTED) {
      throw new ObsqError('OBSQ_ABORTED', `upload-part: the upload of ${parentId} was abandoned by its parent (another part failed)`, { permanent: true });
    }
    if (value && !value.startsWith(PENDING)) return value;
    // Another part is initiating: wait for its id (its lease expires if it died).
    await sleep(25 + Math.random() * 50, undefined, { signal: ctx.signal });
  }
  try {
    const initiated = await ctx.storage.initiateMultipartUpload({
      bucket: data.bucket,
      key: data.key,
      contentType: data.initiate.contentType,
      metadata: data.initiate.metadata,
      signal: ctx.signal,
    });
    const uploadId = initiated.body!.uploadId;
    const published = await ctx.redis.eval(PUBLISH, 1, key, lease, uploadId, String(UPLOAD_ID_TTL_SECONDS));
    if (published !== 1) {
      // Our lease lapsed and another part took over: use its upload, drop ours.
      await ctx.storage
        .abortMultipartUpload({ bucket: data.bucket, key: data.key, uploadId })
        .catch((err: unknown) => ctx.logger.warn({ err, uploadId }, 'could not abort a duplicate multipart upload'));
      throw new ObsqError('OBSQ_INTERNAL', `upload-part: lost the lease to initiate the upload of ${parentId}; retrying`);
    }
    ctx.logger.info({ uploadId }, 'multipart upload initiated by this part');
    return uploadId;
  } catch (err) {
    // Let the next part try at once instead of waiting for the lease to lapse.
    await ctx.redis.eval(`if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`, 1, key, lease).catch(() => undefined);
    throw err;
  }
}

/**
 * The upload id a complete-multipart job works on: its payload's, or the one its parts published.
 * `undefined` when no part ever initiated one (every part failed before that).
 */
export async function parentUploadId(ctx: JobContext<'complete-multipart'>): Promise<string | undefined> {
  if (ctx.data.uploadId !== undefined) return ctx.data.uploadId;
  return publishedUploadId(await ctx.redis.get(uploadIdKey(ctx.prefix, String(ctx.job.id))));
}

/** For a parent giving up: the upload id to abort, if any; leaves a tombstone otherwise. */
export async function abandonUpload(ctx: JobContext<'complete-multipart'>): Promise<string | undefined> {
  if (ctx.data.uploadId !== undefined) return ctx.data.uploadId;
  return abandonWorkerSideUpload(ctx.redis, ctx.prefix, String(ctx.job.id), UPLOAD_ID_TTL_SECONDS);
}
