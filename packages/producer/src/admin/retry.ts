import type { Job } from 'bullmq';
import { isSuccess, parsePayload, QUEUE_NAMES, ValidationError, type JobName, type JobPayload } from '@obsq/shared';
import { jobOptions } from '../jobOptions.js';
import { findJob, queueOfParentKey, type AdminDeps, type FoundJob } from './adminDeps.js';

/** One retried job. */
export interface RetryOutcome {
  /** The failed job (for a part: its upload or copy, which is what is retried). */
  jobId: string;
  queue: JobName;
  /** The new job running it again; its record is the retry's GetResult. */
  retriedAs: string;
  /** True when the job had been retried before: `retriedAs` is that earlier retry, nothing new was added. */
  already: boolean;
}

/** What {@link retryFailed} did. */
export interface RetryFailedOutcome {
  retried: RetryOutcome[];
  /** Failed jobs left alone, and why (cancelled on purpose, still running, ...). */
  skipped: Array<{ jobId: string; reason: string }>;
}

/** Redis key remembering that a failed job was retried, and as which job. */
function retriedKey(prefix: string, jobId: string): string {
  return `${prefix}:retried:${jobId}`;
}

/** `abc` → `abc-retry-1`, `abc-retry-1` → `abc-retry-2`. */
function retryIdAfter(jobId: string, bump = 0): string {
  const m = /^(.*)-retry-(\d+)$/.exec(jobId);
  const id = m ? `${m[1]}-retry-${Number(m[2]) + 1 + bump}` : `${jobId}-retry-${1 + bump}`;
  if (id.length > 200) throw new ValidationError([{ field: 'jobId', rule: `is too long to derive a retry id from (${jobId.length} characters)` }]);
  return id;
}

/** The job a retry re-runs: a part's parent (upload or copy), else the job itself. */
async function rootOf(deps: AdminDeps, found: FoundJob): Promise<FoundJob> {
  const parent = found.job.parent;
  if (!parent?.id) return found;
  const queue = queueOfParentKey(found.job.parentKey ?? '') ?? 'complete-multipart';
  const job = await deps.queue(queue).getJob(parent.id);
  if (!job) throw new ValidationError([{ field: 'jobId', rule: `is a part of ${parent.id}, which no longer exists (removed after retention)` }]);
  return { queue, job };
}

/**
 * Runs a failed job again, with its original payload, as a new job `<id>-retry-N` (the failed job
 * and its record stay as they are). A failed part retries its whole upload or copy: a new multipart
 * upload from the same source, since the old one was aborted. Retrying a job twice returns the first
 * retry. Returns undefined when no queue holds `jobId`.
 *
 * @throws ValidationError when the job (or its upload) has not failed
 */
export async function retryJob(deps: AdminDeps, jobId: string): Promise<RetryOutcome | undefined> {
  const found = await findJob(deps, jobId);
  if (!found) return undefined;
  const root = await rootOf(deps, found);
  const id = String(root.job.id);
  const state = await root.job.getState();
  const record = await deps.results.get(id);
  if (state !== 'failed' && !(record && !isSuccess(record.result))) {
    throw new ValidationError([{ field: 'jobId', rule: `${id === jobId ? '' : `belongs to ${id}, which `}is ${state}: only a failed job can be retried` }]);
  }
  let retriedAs = retryIdAfter(id);
  for (let bump = 1; (await findJob(deps, retriedAs)) || (await deps.results.get(retriedAs)); bump++) retriedAs = retryIdAfter(id, bump);
  // Claim the retry before enqueueing, so two operators retrying at once add one job.
  const claimed = await deps.redis.set(retriedKey(deps.prefix, id), retriedAs, 'EX', deps.retentionSeconds, 'NX');
  if (claimed === null) {
    const earlier = (await deps.redis.get(retriedKey(deps.prefix, id))) ?? retriedAs;
    return { jobId: id, queue: root.queue, retriedAs: earlier, already: true };
  }
  try {
    await reEnqueue(deps, root, retriedAs);
  } catch (err) {
    await deps.redis.del(retriedKey(deps.prefix, id));
    throw err;
  }
  deps.logger.info({ jobId: id, retriedAs, queue: root.queue }, 'failed job retried');
  return { jobId: id, queue: root.queue, retriedAs, already: false };
}

async function reEnqueue(deps: AdminDeps, { queue, job }: FoundJob, newId: string): Promise<void> {
  if (queue === 'complete-multipart') {
    const data = parsePayload('complete-multipart', job.data);
    if (data.kind === 'copy') {
      await deps.enqueueCopy({
        source: { bucket: data.source!.bucket, key: data.source!.key, ...(data.source!.versionId ? { versionId: data.source!.versionId } : {}) },
        target: { bucket: data.bucket, key: data.key },
        jobId: newId,
      });
      return;
    }
    const part = await firstPart(deps, String(job.id), data.totalParts);
    await deps.enqueueUpload({
      source: part.data.source.kind === 'file' ? { kind: 'file', path: part.data.source.path } : { kind: 'url', url: part.data.source.url },
      bucket: data.bucket,
      key: data.key,
      ...(data.contentType ? { contentType: data.contentType } : {}),
      // A part other than the last has the upload's part size: keep the same plan.
      ...(part.data.partNumber < data.totalParts ? { partSize: part.data.size } : {}),
      jobId: newId,
    });
    return;
  }
  const data = parsePayload(queue, job.data) as JobPayload<JobName> & { batch?: unknown };
  // A retried file of a batch is a job of its own: its batch already has its record (retry the
  // failed files of a batch as a batch with `obsq batch retry`).
  const { batch: _batch, ...own } = data;
  await deps.queue(queue).add(queue, own, jobOptions(queue, newId, deps.retentionSeconds));
}

/** Some part of an upload that is still stored: its payload holds the upload's source. */
async function firstPart(deps: AdminDeps, parentId: string, totalParts: number): Promise<{ data: JobPayload<'upload-part'> }> {
  const q = deps.queue('upload-part');
  for (let n = 1; n <= totalParts; n++) {
    const job = await q.getJob(`${parentId}-part-${n}`);
    if (job) return { data: parsePayload('upload-part', job.data) };
  }
  throw new ValidationError([{ field: 'jobId', rule: `upload ${parentId} has no part left in Redis to read its source from (removed after retention)` }]);
}

/** Options of {@link retryFailed}. */
export interface RetryFailedOptions {
  /** Only failures in this queue (a failed part counts for its upload). @defaultValue every queue */
  queue?: JobName;
  /** Only jobs that failed within this many ms. @defaultValue no limit */
  sinceMs?: number;
  now?: number;
}

/**
 * Retries every failed job (newest first) that is not cancelled and not retried before; a part's
 * failure retries its upload once. See {@link retryJob}.
 */
export async function retryFailed(deps: AdminDeps, opts: RetryFailedOptions = {}): Promise<RetryFailedOutcome> {
  const since = opts.sinceMs === undefined ? 0 : (opts.now ?? Date.now()) - opts.sinceMs;
  const roots = new Set<string>();
  for (const queue of opts.queue ? [opts.queue] : QUEUE_NAMES) {
    const q = deps.queue(queue);
    for (let start = 0; ; start += 500) {
      // Newest failure first: stop paging once past the window.
      const page = (await q.getJobs(['failed'], start, start + 499)).filter((j): j is Job => !!j);
      for (const j of page) if ((j.finishedOn ?? 0) >= since) roots.add(j.parent?.id ?? String(j.id));
      if (page.length < 500 || page.some((j) => (j.finishedOn ?? 0) < since)) break;
    }
  }
  const out: RetryFailedOutcome = { retried: [], skipped: [] };
  for (const jobId of roots) {
    const record = await deps.results.get(jobId);
    if (record?.result.errorCode === 'OBSQ_CANCELLED') {
      out.skipped.push({ jobId, reason: 'cancelled by an operator (retry it by id to run it anyway)' });
      continue;
    }
    const earlier = await deps.redis.get(retriedKey(deps.prefix, jobId));
    if (earlier !== null) {
      out.skipped.push({ jobId, reason: `already retried as ${earlier}` });
      continue;
    }
    try {
      const r = await retryJob(deps, jobId);
      if (r) out.retried.push(r);
      else out.skipped.push({ jobId, reason: 'removed meanwhile' });
    } catch (err) {
      out.skipped.push({ jobId, reason: (err as Error).message });
    }
  }
  return out;
}
