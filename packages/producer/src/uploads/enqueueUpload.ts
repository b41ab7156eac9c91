import type { FlowJobNode, FlowProducer, Queue } from 'bullmq';
import {
  bucketNameIssues,
  objectKeyIssues,
  parsePayload,
  planParts,
  ValidationError,
  type JobPayload,
  type UrlClient,
  type ValidationIssue,
} from '@obsq/shared';
import { type ObsClient } from '@obsq/storage';
import type { Logger } from 'pino';
import { commonInput, jobOptions } from '../jobOptions.js';
import { probeSource, type UploadSource } from '../sources/probeSource.js';

/** Input of `enqueueUpload`. */
export interface EnqueueUploadInput {
  /** Where the bytes come from: a file every worker can read (under its OBSQ_SOURCE_ROOTS) or an http(s) URL with Range support. */
  source: UploadSource;
  bucket: string;
  key: string;
  /** Part size in bytes or as text (`8MiB`). @defaultValue 8 MiB, raised for files over 80 GiB */
  partSize?: number | string;
  contentType?: string;
  /** User metadata (`x-obs-meta-*` / `x-amz-meta-*`). */
  metadata?: Record<string, string>;
  /** Job id of the upload (the parent); re-enqueueing the same id returns the existing upload. */
  jobId?: string;
}

/** What `enqueueUpload` returns. */
export interface EnqueuedUpload {
  /** Job id of the upload; its record is the upload's GetResult. */
  jobId: string;
  uploadId: string;
  /** Number of parts. */
  parts: number;
  /** Source size in bytes. */
  size: number;
  /** False when the job id already existed and nothing new was enqueued. */
  created: boolean;
}

/** Dependencies of {@link enqueueUpload}, owned by the Producer. */
export interface UploadDeps {
  flows: FlowProducer;
  completeQueue: Queue;
  storage: ObsClient;
  /** Policy-checked http(s) client for probing URL sources. */
  urls: UrlClient;
  minPartSize: number;
  retentionSeconds: number;
  logger: Logger;
  newJobId: () => string;
}

/** Validates, initiates the multipart upload and adds one flow: complete-multipart over upload-part children. */
export async function enqueueUpload(deps: UploadDeps, input: EnqueueUploadInput, signal?: AbortSignal): Promise<EnqueuedUpload> {
  const issues: ValidationIssue[] = [...bucketNameIssues(input.bucket, 'bucket'), ...objectKeyIssues(input.key, 'key')];
  const { partSize, jobId } = commonInput(input, deps.newJobId, issues);
  if (issues.length > 0) throw new ValidationError(issues);

  const existing = await deps.completeQueue.getJob(jobId);
  if (existing) {
    const data = existing.data as JobPayload<'complete-multipart'>;
    return { jobId, uploadId: data.uploadId ?? '', parts: data.totalParts, size: data.size, created: false };
  }

  const probed = await probeSource(input.source, deps.urls, signal);
  const plan = planParts({ size: probed.size, partSize, minPartSize: deps.minPartSize });

  await deps.storage.headBucket({ bucket: input.bucket, signal });
  const initiated = await deps.storage.initiateMultipartUpload({
    bucket: input.bucket,
    key: input.key,
    contentType: input.contentType,
    metadata: input.metadata,
    signal,
  });
  const uploadId = initiated.body!.uploadId;
  const abortOurs = () =>
    deps.storage.abortMultipartUpload({ bucket: input.bucket, key: input.key, uploadId }).catch((err: unknown) =>
      deps.logger.error({ err, uploadId }, 'could not abort an unused multipart upload'),
    );

  try {
    const source =
      probed.kind === 'file'
        ? { kind: 'file' as const, path: probed.path, pin: probed.pin }
        : { kind: 'url' as const, url: probed.url, size: probed.size, etag: probed.etag, lastModified: probed.lastModified };
    const parentData = parsePayload('complete-multipart', {
      kind: 'upload',
      uploadId,
      bucket: input.bucket,
      key: input.key,
      totalParts: plan.partCount,
      size: probed.size,
      uploadSource: source,
      contentType: input.contentType,
    });
    const children: FlowJobNode[] = plan.parts.map((p) => ({
      name: 'upload-part',
      queueName: 'upload-part',
      data: parsePayload('upload-part', {
        uploadId,
        bucket: input.bucket,
        key: input.key,
        partNumber: p.partNumber,
        offset: p.offset,
        size: p.size,
        totalParts: plan.partCount,
        source,
      }),
      opts: {
        ...jobOptions('upload-part', `${jobId}-part-${p.partNumber}`, deps.retentionSeconds),
        // A part that fails for good wakes the parent at once, which aborts the upload: the parent
        // never waits forever in waiting-children.
        continueParentOnFailure: true,
      },
    }));
    await deps.flows.add({
      name: 'complete-multipart',
      queueName: 'complete-multipart',
      data: parentData,
      opts: jobOptions('complete-multipart', jobId, deps.retentionSeconds),
      children,
    });
    // Read back what Redis holds: with a duplicate id BullMQ keeps the first job.
    const stored = ((await deps.completeQueue.getJob(jobId))?.data ?? parentData) as JobPayload<'complete-multipart'>;
    if (stored.uploadId !== uploadId) {
      // Another producer won the race for this job id; ours is unused.
      await abortOurs();
      return { jobId, uploadId: stored.uploadId ?? '', parts: stored.totalParts, size: stored.size, created: false };
    }
    deps.logger.info({ jobId, parts: plan.partCount, size: probed.size, partSize: plan.partSize }, 'upload enqueued');
    return { jobId, uploadId, parts: plan.partCount, size: probed.size, created: true };
  } catch (err) {
    await abortOurs();
    throw err;
  }
}
