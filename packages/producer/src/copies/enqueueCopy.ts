import type { FlowJobNode, FlowProducer, Queue } from 'bullmq';
import type { Logger } from 'pino';
import { copyPlan, parsePayload, ValidationError, type JobPayload, type ValidationIssue } from '@obsq/shared';
import { type ObsClient } from '@obsq/storage';
import { commonInput, jobOptions } from '../jobOptions.js';

/** Input of `enqueueCopy`. */
export interface EnqueueCopyInput {
  source: { bucket: string; key: string; versionId?: string };
  target: { bucket: string; key: string };
  /** `REPLACE` sets `metadata`/`contentType` on the target; `COPY` keeps the source's. @defaultValue 'COPY' */
  metadataDirective?: 'COPY' | 'REPLACE';
  metadata?: Record<string, string>;
  contentType?: string;
  /** Copy only while the source's ETag is this one (412 PreconditionFailed otherwise). */
  ifMatch?: string;
  /** Part size of a multipart copy, bytes or text (`64MiB`). @defaultValue chosen like uploads */
  partSize?: number | string;
  jobId?: string;
}

/** What `enqueueCopy` returns. */
export interface EnqueuedCopy {
  jobId: string;
  /** `single`: one CopyObject job. `multipart`: a flow of UploadPartCopy parts. */
  path: 'single' | 'multipart';
  size: number;
  /** Parts of a multipart copy (1 for single). */
  parts: number;
  /** Upload id of a multipart copy. */
  uploadId?: string;
  created: boolean;
  /** Inputs that did not apply and why (e.g. `partSize` for a copy done with one CopyObject). */
  notes?: string[];
}

/** Dependencies of {@link enqueueCopy}. */
export interface CopyDeps {
  flows: FlowProducer;
  copyQueue: Queue;
  completeQueue: Queue;
  storage: ObsClient;
  minPartSize: number;
  copyThreshold: number;
  retentionSeconds: number;
  logger: Logger;
  newJobId: () => string;
}

/**
 * HEADs the source, then adds one `copy-object` job (source up to the threshold) or a multipart-copy
 * flow whose parts are pinned to the source's ETag, so a source replaced mid-copy fails instead of
 * mixing versions.
 */
export async function enqueueCopy(deps: CopyDeps, input: EnqueueCopyInput, signal?: AbortSignal): Promise<EnqueuedCopy> {
  const directive = input.metadataDirective ?? 'COPY';
  // Validates names, metadata and the directive rules with the catalog's messages.
  const single = parsePayload('copy-object', {
    mode: 'single',
    source: { bucket: input.source.bucket, key: input.source.key, versionId: input.source.versionId },
    target: input.target,
    metadataDirective: directive,
    metadata: input.metadata,
    contentType: input.contentType,
    ifMatch: input.ifMatch,
  });
  const issues: ValidationIssue[] = [];
  const { partSize, jobId } = commonInput(input, deps.newJobId, issues);
  // Checked whatever path the copy takes: a part size the endpoint refuses is wrong input either way.
  if (partSize !== undefined && partSize < deps.minPartSize) {
    issues.push({ field: 'partSize', rule: `must be at least ${deps.minPartSize} bytes, the smallest part this endpoint accepts (got ${partSize})` });
  }
  if (issues.length > 0) throw new ValidationError(issues);

  const existing = (await deps.copyQueue.getJob(jobId)) ?? (await deps.completeQueue.getJob(jobId));
  if (existing) {
    const d = existing.data as Partial<JobPayload<'complete-multipart'>>;
    return { jobId, path: d.uploadId ? 'multipart' : 'single', size: d.size ?? 0, parts: d.totalParts ?? 1, uploadId: d.uploadId, created: false };
  }

  const head = await deps.storage.headObject({ bucket: input.source.bucket, key: input.source.key, versionId: input.source.versionId, signal });
  const size = Number(head.body!.contentLength);
  const etag = head.body!.etag;
  if (input.ifMatch && input.ifMatch.replace(/"/g, '') !== etag.replace(/"/g, '')) {
    throw new ValidationError([{ field: 'ifMatch', rule: `does not match the source's current ETag ${etag}` }]);
  }
  const plan = copyPlan({ size, threshold: deps.copyThreshold, partSize, minPartSize: deps.minPartSize });
  if (plan.mode === 'single') {
    await deps.copyQueue.add('copy-object', single, jobOptions('copy-object', jobId, deps.retentionSeconds));
    deps.logger.info({ jobId, size }, 'copy enqueued (single CopyObject)');
    const notes =
      partSize === undefined ? [] : [`partSize does not apply: the source (${size} bytes) is copied with one CopyObject (up to ${deps.copyThreshold} bytes)`];
    for (const note of notes) deps.logger.warn({ jobId }, note);
    return { jobId, path: 'single', size, parts: 1, created: true, ...(notes.length > 0 ? { notes } : {}) };
  }

  // A multipart copy does not carry metadata by itself: COPY is emulated by initiating with the
  // source's content type and metadata.
  const initiated = await deps.storage.initiateMultipartUpload({
    bucket: input.target.bucket,
    key: input.target.key,
    contentType: directive === 'REPLACE' ? input.contentType : head.body!.contentType || undefined,
    metadata: directive === 'REPLACE' ? input.metadata : head.body!.metadata,
    signal,
  });
  const uploadId = initiated.body!.uploadId;
  try {
    const source = { bucket: input.source.bucket, key: input.source.key, versionId: input.source.versionId, etag };
    const children: FlowJobNode[] = plan.parts.map((p) => ({
      name: 'copy-object',
      queueName: 'copy-object',
      data: parsePayload('copy-object', {
        mode: 'part',
        source,
        target: input.target,
        uploadId,
        partNumber: p.partNumber,
        range: { start: p.start, end: p.end },
        ifMatch: etag,
      }),
      opts: { ...jobOptions('copy-object', `${jobId}-part-${p.partNumber}`, deps.retentionSeconds), continueParentOnFailure: true },
    }));
    await deps.flows.add({
      name: 'complete-multipart',
      queueName: 'complete-multipart',
      data: parsePayload('complete-multipart', {
        kind: 'copy',
        uploadId,
        bucket: input.target.bucket,
        key: input.target.key,
        totalParts: plan.partCount,
        size,
        source,
      }),
      opts: jobOptions('complete-multipart', jobId, deps.retentionSeconds),
      children,
    });
  } catch (err) {
    await deps.storage.abortMultipartUpload({ bucket: input.target.bucket, key: input.target.key, uploadId }).catch(() => undefined);
    throw err;
  }
  deps.logger.info({ jobId, size, parts: plan.partCount }, 'copy enqueued (multipart UploadPartCopy)');
  return { jobId, path: 'multipart', size, parts: plan.partCount, uploadId, created: true };
}
