import {
  abandonWorkerSideUpload,
  batchMembershipOf,
  BatchStore,
  makeGetResult,
  parsePayload,
  setCancelFlag,
  ValidationError,
  type GetResult,
  type JobName,
} from '@obsq/shared';
import { findJob, queueOfParentKey, type AdminDeps, type FoundJob } from './adminDeps.js';

/** How `cancel` went. */
export interface CancelOutcome {
  /** `job` for one job (an upload or copy with its parts), `batch` for a batch's members. */
  kind: 'job' | 'batch';
  /** The cancelled job (for a part: its upload or copy) or batch. */
  jobId: string;
  queue?: JobName;
  /** The job's state when cancelled. */
  stateBefore?: string;
  /** Waiting, delayed or prioritized parts removed from their queue. */
  removedParts: number;
  /** Attempts running now that stop at their next cancel check (the worker's `cancelCheckMs`). */
  stopping: number;
  /** A job that had not started and was removed from its queue. */
  removed: boolean;
  /** What happened to the multipart upload, in words (`upload … aborted`, `… already gone`, `… NOT aborted (…)`). */
  upload?: string;
  /** False when the multipart upload could not be aborted (see `upload`): abort it with `obsq uploads abort`. */
  uploadAborted?: boolean;
  /** Members of a cancelled batch. */
  members?: string[];
}

const WAITING_STATES = new Set(['waiting', 'delayed', 'prioritized', 'wait']);

async function rootOf(deps: AdminDeps, found: FoundJob): Promise<FoundJob> {
  const parent = found.job.parent;
  if (!parent?.id) return found;
  const queue = queueOfParentKey(found.job.parentKey ?? '') ?? 'complete-multipart';
  const job = await deps.queue(queue).getJob(parent.id);
  return job ? { queue, job } : found;
}

/**
 * Cancels a job that has not finished: sets its cancel flag (workers stop its running attempts and
 * refuse to start it), removes its waiting parts (or the job itself when it had not started),
 * aborts its multipart upload, and writes its record with `OBSQ_CANCELLED`. A part id cancels the
 * whole upload or copy. An id that is no job is tried as a batch (see `batchHooks.ts`). Returns
 * undefined when it is neither.
 *
 * @throws ValidationError when the job already finished
 */
export async function cancelJob(deps: AdminDeps, id: string, reason = 'cancelled by an operator'): Promise<CancelOutcome | undefined> {
  const found = await findJob(deps, id);
  if (!found) {
    const batch = await deps.batches.cancelBatch(id, (member) => cancelJob(deps, member, `${reason} (batch ${id})`));
    return batch ? { kind: 'batch', jobId: id, removedParts: 0, stopping: 0, removed: false, members: batch.members } : undefined;
  }
  const { queue, job } = await rootOf(deps, found);
  const jobId = String(job.id);
  const state = await job.getState();
  if (state === 'completed' || state === 'failed' || (await deps.results.get(jobId))) {
    throw new ValidationError([{ field: 'jobId', rule: `${jobId === id ? '' : `belongs to ${jobId}, which `}already finished (${state}): nothing to cancel` }]);
  }
  // The flag first: from now on no attempt of the job or its parts starts, and running ones stop.
  await setCancelFlag(deps.redis, deps.prefix, jobId, deps.retentionSeconds, reason);
  // Then the record, before anything can wake the job: a worker that fails it for the cancel finds
  // the record written (records are write-once), so the operator's reason is what callers read.
  const data = queue === 'complete-multipart' ? parsePayload('complete-multipart', job.data) : undefined;
  const result = makeGetResult({ status: 0, errorCode: 'OBSQ_CANCELLED', errorMessage: reason, resource: data ? `${data.bucket}/${data.key}` : '' });
  // A batch's file counts toward its batch like any record.
  const membership = batchMembershipOf(job.data, result);
  const written = await deps.results.writeOnceInBatch(
    { jobId, queue, ...(job.parent?.id ? { parentId: job.parent.id } : {}), attempts: job.attemptsMade, result },
    membership,
  );
  if (written === 2 && membership) {
    await new BatchStore({ redis: deps.redis, prefix: deps.prefix, results: deps.results, retentionSeconds: deps.retentionSeconds }).finalize(membership.id);
  }
  const out: CancelOutcome = { kind: 'job', jobId, queue, stateBefore: state, removedParts: 0, stopping: 0, removed: false };
  if (data) {
    // Abort before removing the waiting parts: removing the last one wakes the parent, whose worker
    // would otherwise race us to the abort. Parts still running fail on the aborted upload or at
    // their next check, as OBSQ_CANCELLED either way.
    const uploadId = data.uploadId ?? (await abandonWorkerSideUpload(deps.redis, deps.prefix, jobId, deps.retentionSeconds));
    out.upload = uploadId === undefined ? 'no upload was initiated' : await abortUpload(deps, data.bucket, data.key, uploadId);
    out.uploadAborted = !out.upload.includes('NOT aborted');
    const before = await job.getDependenciesCount();
    // Skips parts locked by a worker (active): those stop at their next check.
    await job.removeUnprocessedChildren();
    const after = await job.getDependenciesCount();
    out.removedParts = (before.unprocessed ?? 0) - (after.unprocessed ?? 0);
    out.stopping = after.unprocessed ?? 0;
  } else if (WAITING_STATES.has(state)) {
    try {
      await job.remove();
      out.removed = true;
    } catch {
      // A worker took it meanwhile; the flag stops it.
      out.stopping = 1;
    }
  } else if (state === 'active') {
    out.stopping = 1;
  }
  deps.logger.info({ jobId, queue, removedParts: out.removedParts, stopping: out.stopping }, 'job cancelled');
  return out;
}

async function abortUpload(deps: AdminDeps, bucket: string, key: string, uploadId: string): Promise<string> {
  try {
    await deps.storage.abortMultipartUpload({ bucket, key, uploadId });
    return `upload ${uploadId} aborted`;
  } catch (err) {
    const code = (err as { result?: GetResult }).result?.errorCode || (err as { code?: string }).code || (err as Error).message;
    if (code === 'NoSuchUpload') return `upload ${uploadId} already gone`;
    return `upload ${uploadId} NOT aborted (${code}): abort it with obsq uploads abort`;
  }
}
