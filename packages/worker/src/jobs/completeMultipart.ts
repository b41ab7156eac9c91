import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { errorCode, isPermanent, makeGetResult, ObsqError, type GetResult, type UploadPartPayload } from '@obsq/shared';
import { backoffDelay, type HeadObjectBody } from '@obsq/storage';
import { checkUrlSourceUnchanged, openPinnedFile } from '../sources/index.js';
import type { CopyRecordBody } from './copyObject.js';
import type { JobContext } from './jobContext.js';
import { abandonUpload, parentUploadId } from './multipartUpload.js';

/** One part as reported by a finished child job (upload-part or part-mode copy-object). */
export interface CompletedPart {
  partNumber: number;
  etag: string;
  size: number;
  /** Hex MD5 of the part when known (uploads), used to verify the multipart ETag. */
  md5?: string;
}

/** Body of a `complete-multipart` record (OBS SDK's CompleteMultipartUpload response, plus extras). */
export interface CompleteRecordBody {
  location: string;
  bucket: string;
  key: string;
  etag: string;
  versionId: string;
  size: number;
  parts: number;
  /** Which path produced the object (`multipart-upload` or `multipart-copy`). */
  path: 'multipart-upload' | 'multipart-copy';
}

/** A part failed for good: the parent carries the part's record. Always permanent. */
export class PartFailedError extends ObsqError {
  readonly result: GetResult;
  constructor(message: string, result: GetResult) {
    super('OBSQ_STORAGE', message, { permanent: true });
    this.name = 'PartFailedError';
    this.result = result;
  }
}

type UploadSource = UploadPartPayload['source'];

const childIdOf = (childKey: string) => childKey.slice(childKey.lastIndexOf(':') + 1);

/** S3-style multipart ETag: MD5 of the concatenated binary part MD5s, then `-N`. */
export function multipartEtag(md5s: readonly string[]): string {
  const h = createHash('md5');
  for (const m of md5s) h.update(Buffer.from(m, 'hex'));
  return `${h.digest('hex')}-${md5s.length}`;
}

/**
 * Completes a multipart upload or copy once its children are done. If any child failed for good
 * (`continueParentOnFailure` woke us early), aborts the upload so no parts are left behind and fails
 * with that child's error code.
 */
export async function completeMultipart(ctx: JobContext<'complete-multipart'>): Promise<GetResult<CompleteRecordBody>> {
  const { job, storage, signal } = ctx;
  const uploadId = await parentUploadId(ctx);
  const data = { ...ctx.data, uploadId: uploadId ?? '' };
  const target = { bucket: data.bucket, key: data.key, uploadId: data.uploadId };

  const failures = await job.getIgnoredChildrenFailures();
  const failedKeys = Object.keys(failures);
  if (failedKeys.length > 0) {
    const childId = childIdOf(failedKeys[0]!);
    const childRecord = await ctx.results.get(childId);
    const aborted = await abortUpload(ctx);
    await job.removeUnprocessedChildren().catch((err: unknown) => ctx.logger.warn({ err }, 'could not remove unprocessed children'));
    const reason = failures[failedKeys[0]!] ?? 'failed';
    const rec = childRecord?.result;
    throw new PartFailedError(
      `part job ${childId} failed: ${rec?.errorCode ? `${rec.errorCode}: ` : ''}${rec?.errorMessage || reason}; ${aborted}`,
      makeGetResult({
        ...(rec ?? {}),
        status: rec && rec.status >= 300 ? rec.status : 0,
        errorCode: rec?.errorCode || 'PartFailed',
        errorMessage: `part job ${childId} failed: ${rec?.errorMessage || reason}; ${aborted}`,
        resource: rec?.resource || `${data.bucket}/${data.key}`,
      }),
    );
  }

  const values = (await job.getChildrenValues()) as Record<string, GetResult<CompletedPart> | undefined>;
  const parts = Object.values(values)
    .map((v) => v?.body)
    .filter((b): b is CompletedPart => !!b && Number.isInteger(b.partNumber))
    .sort((a, b) => a.partNumber - b.partNumber);
  const problems: string[] = [];
  if (parts.length !== data.totalParts) problems.push(`expected ${data.totalParts} parts, children returned ${parts.length}`);
  parts.forEach((p, i) => {
    if (p.partNumber !== i + 1) problems.push(`part ${i + 1} missing (found ${p.partNumber})`);
  });
  const sum = parts.reduce((n, p) => n + p.size, 0);
  if (sum !== data.size) problems.push(`parts add up to ${sum} bytes, expected ${data.size}`);
  if (problems.length > 0) {
    const aborted = await abortUpload(ctx);
    throw new ObsqError('OBSQ_INTERNAL', `complete-multipart ${data.uploadId}: ${problems.join('; ')}; ${aborted}`, { permanent: true });
  }

  const md5s = parts.every((p) => p.md5) ? parts.map((p) => p.md5!) : undefined;
  const expectedEtag = md5s ? multipartEtag(md5s) : undefined;
  const path = data.kind === 'copy' ? 'multipart-copy' : 'multipart-upload';

  // A previous attempt may have completed the upload and lost the answer: look before completing again.
  if (ctx.attempt > 1) {
    const already = await alreadyCompleted(ctx, uploadId, expectedEtag);
    if (already !== undefined && already !== 'unknown') return already;
  }
  if (uploadId === undefined) {
    throw new ObsqError('OBSQ_INTERNAL', `complete-multipart ${job.id}: every part finished but no upload id was published`, { permanent: true });
  }

  if (data.kind === 'upload' && data.uploadSource) {
    try {
      await verifySourceUnchanged(ctx, data.uploadSource);
    } catch (err) {
      if (!isPermanent(err)) throw err;
      const aborted = await abortUpload(ctx);
      throw new ObsqError(errorCode(err) === 'OBSQ_SOURCE_CHANGED' ? 'OBSQ_SOURCE_CHANGED' : 'OBSQ_SOURCE', `${(err as Error).message}; ${aborted}`, {
        cause: err,
        permanent: true,
      });
    }
  }

  let completed: GetResult<{ location?: string; bucket?: string; key?: string; etag?: string; versionId?: string }>;
  try {
    completed = await storage.completeMultipartUpload({ ...target, parts: parts.map((p) => ({ partNumber: p.partNumber, etag: p.etag })), signal });
  } catch (err) {
    if (isAmbiguous(err)) {
      const already = await alreadyCompleted(ctx, uploadId, expectedEtag);
      if (already !== undefined && already !== 'unknown') return already;
      if (already === 'unknown' && (err as { result?: GetResult }).result?.errorCode === 'NoSuchUpload') {
        // Gone, maybe completed by our own lost attempt: neither fail nor abort before a HEAD can tell.
        throw new ObsqError('OBSQ_STORAGE', `complete-multipart ${data.uploadId}: the upload is gone and HEAD could not tell whether it was completed; retrying`, {
          cause: err,
        });
      }
    }
    if ((err as { permanent?: boolean }).permanent) await abortUpload(ctx);
    throw err;
  }

  const head = await storage.headObject({ bucket: data.bucket, key: data.key, signal });
  const size = Number(head.body?.contentLength ?? -1);
  const etag = completed.body?.etag ?? head.body?.etag ?? '';
  if (size !== data.size) {
    throw new ObsqError('OBSQ_STORAGE', `completed object is ${size} bytes, expected ${data.size}`, { permanent: true });
  }
  const bare = etag.replace(/"/g, '');
  if (expectedEtag && /-\d+$/.test(bare) && bare !== expectedEtag) {
    // Complete already consumed the upload, so there is nothing left to abort: the object stays for
    // an operator to inspect, and the record says it does not match.
    throw new ObsqError(
      'OBSQ_STORAGE',
      `completed object's ETag ${bare} is not the multipart ETag of the parts sent (${expectedEtag}): the stored object does not match the source; verify or re-upload it`,
      { permanent: true },
    );
  }
  ctx.logger.info({ parts: parts.length, size, path }, 'multipart upload completed');
  if (data.kind === 'copy') return copyRecord(ctx, completed, head, parts.length) as unknown as GetResult<CompleteRecordBody>;
  return {
    ...completed,
    body: {
      location: completed.body?.location ?? '',
      bucket: data.bucket,
      key: data.key,
      etag,
      versionId: completed.body?.versionId ?? '',
      size,
      parts: parts.length,
      path,
    },
  };
}

/** Checks the upload's source still is the version its parts were read from. */
async function verifySourceUnchanged(ctx: JobContext<'complete-multipart'>, source: UploadSource): Promise<void> {
  if (source.kind === 'url') {
    await checkUrlSourceUnchanged(ctx.settings.urls, source, ctx.signal);
    return;
  }
  const file = await openPinnedFile(ctx.sourceRoots, source, { hardlinks: ctx.settings.sourceHardlinks, signal: ctx.signal });
  await file.close();
}

/**
 * A multipart copy's record: the seed's CopyObjectResponse fields, filled from the Complete answer
 * and the target's HEAD, plus the path taken.
 */
function copyRecord(
  ctx: JobContext<'complete-multipart'>,
  completed: GetResult<{ etag?: string; versionId?: string }>,
  head: GetResult<HeadObjectBody>,
  parts: number,
): GetResult<CopyRecordBody & { parts: number }> {
  const h = (name: string) => head.header.find(([k]) => k === `x-obs-${name}` || k === `x-amz-${name}`)?.[1] ?? '';
  const sse = h('server-side-encryption').replace(/^aws:/, '');
  return {
    ...completed,
    body: {
      lastModified: head.body?.lastModified ?? '',
      etag: completed.body?.etag ?? head.body?.etag ?? '',
      copySourceVersionId: ctx.data.source?.versionId ?? '',
      versionId: completed.body?.versionId ?? '',
      sseKms: sse === 'kms' ? 'kms' : '',
      sseKmsKey: h('server-side-encryption-kms-key-id') || h('server-side-encryption-aws-kms-key-id'),
      sseC: h('server-side-encryption-customer-algorithm'),
      sseCKeyMd5: h('server-side-encryption-customer-key-md5'),
      path: 'multipart',
      size: Number(head.body?.contentLength ?? 0),
      parts,
    },
  };
}

/**
 * The Complete may have happened although this call failed: no answer, a 5xx, or NoSuchUpload
 * (the client's retry of a Complete whose answer was lost finds the upload consumed; only an OBS
 * server says so with `x-obs-uploadId`, so S3-style servers are checked here by the ETag).
 */
function isAmbiguous(err: unknown): boolean {
  const result = (err as { result?: GetResult }).result;
  const status = result?.status ?? 0;
  const code = errorCode(err) ?? '';
  return status === 0 || status >= 500 || result?.errorCode === 'NoSuchUpload' || /TIMEOUT|ECONNRESET|SOCKET|ABORT/i.test(code);
}

/**
 * The object exists and was produced by this upload (same upload id header, or same multipart
 * ETag): its record. Undefined when it was not; `'unknown'` when HEAD failed for another reason
 * than a missing object.
 */
async function alreadyCompleted(
  ctx: JobContext<'complete-multipart'>,
  uploadId: string | undefined,
  expectedEtag: string | undefined,
): Promise<GetResult<CompleteRecordBody> | undefined | 'unknown'> {
  const { data, storage, signal } = ctx;
  const head = await storage.headObject({ bucket: data.bucket, key: data.key, signal }).catch((e: unknown) =>
    (e as { result?: GetResult }).result?.status === 404 ? undefined : ('unknown' as const),
  );
  if (head === 'unknown') return 'unknown';
  if (!head?.body) return undefined;
  const uploadIdHeader = head.body.uploadId;
  const etag = String(head.body.etag ?? '');
  const same = uploadIdHeader ? uploadIdHeader === uploadId : expectedEtag !== undefined && etag.replace(/"/g, '') === expectedEtag;
  if (!same || Number(head.body.contentLength) !== data.size) return undefined;
  ctx.logger.info('object already completed by an earlier attempt');
  return {
    ...head,
    body: {
      location: '',
      bucket: data.bucket,
      key: data.key,
      etag,
      versionId: String(head.body.versionId ?? ''),
      size: data.size,
      parts: data.totalParts,
      path: data.kind === 'copy' ? 'multipart-copy' : 'multipart-upload',
    },
  };
}

/** Rounds of AbortMultipartUpload (each with the storage client's own retries) before giving up. */
export const ABORT_ROUNDS = 4;

/** Server codes that mean the worker's credentials or permissions are what failed. */
const AUTH_CODES = new Set(['AccessDenied', 'SignatureDoesNotMatch', 'InvalidAccessKeyId', 'RequestTimeTooSkewed', 'InvalidSecurity', 'ExpiredToken']);

/**
 * Aborts the upload; a missing upload (already aborted or completed) is fine. A retryable failure
 * (5xx, throttling, network) is tried again with backoff, for {@link ABORT_ROUNDS} rounds in all.
 * Never throws: returns how it went, in words fit for the record, naming what actually failed
 * (`AbortMultipartUpload answered HTTP 500 InternalError after 4 rounds`); only an auth failure
 * says to use valid credentials.
 */
export async function abortUpload(ctx: JobContext<'complete-multipart'>): Promise<string> {
  const { data, storage } = ctx;
  let uploadId: string | undefined;
  try {
    uploadId = await abandonUpload(ctx);
  } catch (err) {
    ctx.logger.error({ err }, 'could not read the upload id of a worker-side upload');
    return `upload NOT aborted (its id could not be read from Redis: ${(err as Error).message}): abort it later (ListMultipartUploads shows it)`;
  }
  if (uploadId === undefined) return 'no upload was initiated';
  let last: unknown;
  for (let round = 1; round <= ABORT_ROUNDS; round++) {
    try {
      await storage.abortMultipartUpload({ bucket: data.bucket, key: data.key, uploadId });
      ctx.logger.warn({ uploadId, round }, 'multipart upload aborted');
      return `upload ${uploadId} aborted`;
    } catch (err) {
      last = err;
      const code = (err as { result?: GetResult }).result?.errorCode;
      if (code === 'NoSuchUpload') return `upload ${uploadId} already gone`;
      const retryable = !isPermanent(err) && errorCode(err) !== 'OBSQ_CLOSED';
      ctx.logger.warn({ err, uploadId, round, retryable }, 'abort multipart upload failed');
      if (!retryable || round === ABORT_ROUNDS) break;
      await sleep(backoffDelay(round, { baseMs: 500, maxMs: 8_000 }));
    }
  }
  const result = (last as { result?: GetResult }).result;
  const code = result?.errorCode || errorCode(last) || (last as Error).message;
  const what = result && result.status > 0 ? `AbortMultipartUpload answered HTTP ${result.status} ${code}` : `AbortMultipartUpload failed: ${code}`;
  ctx.logger.error({ err: last, uploadId }, 'abort multipart upload failed for good');
  const fix = AUTH_CODES.has(code) || result?.status === 403 ? 'abort it with valid credentials' : 'abort it later (ListMultipartUploads shows it) or let a lifecycle rule expire it';
  return `upload ${uploadId} NOT aborted (${what}): ${fix}`;
}
