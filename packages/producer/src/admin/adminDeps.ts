import type { Job, Queue } from 'bullmq';
import type { Cluster, Redis } from 'ioredis';
import type { Logger } from 'pino';
import { QUEUE_NAMES, type JobName, type ResultStore } from '@obsq/shared';
import type { ObsClient } from '@obsq/storage';
import type { EnqueueCopyInput, EnqueuedCopy } from '../copies/enqueueCopy.js';
import type { EnqueuedUpload, EnqueueUploadInput } from '../uploads/enqueueUpload.js';
import type { BatchOperations } from './batchHooks.js';

/** What the operator functions (status, jobs, retry, cancel) need from the Producer. */
export interface AdminDeps {
  queue: (name: JobName) => Queue;
  results: ResultStore;
  redis: Redis | Cluster;
  /** Hash-tagged prefix, e.g. `{obsq}`. */
  prefix: string;
  storage: ObsClient;
  retentionSeconds: number;
  logger: Logger;
  /** Re-enqueues a whole upload (a retry). */
  enqueueUpload: (input: EnqueueUploadInput) => Promise<EnqueuedUpload>;
  /** Re-enqueues a whole copy (a retry). */
  enqueueCopy: (input: EnqueueCopyInput) => Promise<EnqueuedCopy>;
  /** Batch extension point (issue 10). */
  batches: BatchOperations;
}

/** A job found by id in one of the catalog's queues. */
export interface FoundJob {
  queue: JobName;
  job: Job;
}

/** Looks a job id up in every catalog queue (ids are unique across obsq's queues). */
export async function findJob(deps: Pick<AdminDeps, 'queue'>, jobId: string): Promise<FoundJob | undefined> {
  const found = await Promise.all(QUEUE_NAMES.map(async (queue) => ({ queue, job: await deps.queue(queue).getJob(jobId) })));
  const hit = found.find((f) => f.job);
  return hit ? { queue: hit.queue, job: hit.job! } : undefined;
}

/** The queue a parent key (`{obsq}:complete-multipart:<id>`) belongs to. */
export function queueOfParentKey(parentKey: string): JobName | undefined {
  return QUEUE_NAMES.find((q) => parentKey.includes(`:${q}:`));
}
