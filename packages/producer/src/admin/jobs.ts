import type { Job } from 'bullmq';
import { JOB_STATES, QUEUE_NAMES, redactUrl, ValidationError, type JobName, type JobState, type StoredResult } from '@obsq/shared';
import { findJob, type AdminDeps } from './adminDeps.js';

/** One job in a listing. */
export interface JobSummary {
  id: string;
  queue: JobName;
  state: JobState;
  /** Attempts made so far, and allowed. */
  attemptsMade: number;
  attempts: number;
  /** Epoch ms the job was added. */
  createdAt: number;
  /** Epoch ms it finished (completed or failed for good), when it did. */
  finishedAt?: number;
  /** The parent's job id for flow children (upload and copy parts). */
  parentId?: string;
  /** BullMQ's failure message (last attempt), when it failed. */
  failedReason?: string;
}

/** A job with its payload (secrets blanked), options and record. */
export interface JobDetails extends JobSummary {
  /** The payload with signatures, credentials and `user:password@` blanked in every URL. */
  data: unknown;
  /** Progress the handler last reported. */
  progress: unknown;
  /** Children of a flow parent: finished, failed, not yet processed. */
  children?: { processed: number; failed: number; unprocessed: number };
  /** The job's GetResult record, once it finished. */
  record?: StoredResult;
}

/** Options of {@link listJobs}. */
export interface ListJobsOptions {
  /** One queue; @defaultValue every catalog queue */
  queue?: JobName;
  /** One state; @defaultValue every state */
  state?: JobState;
  /** Most jobs returned, newest first. @defaultValue 50 */
  limit?: number;
}

/** BullMQ's getJobs type of one of our states (`waiting` is its `wait` list). */
const BULL_TYPE: Record<JobState, string> = {
  waiting: 'wait',
  prioritized: 'prioritized',
  active: 'active',
  delayed: 'delayed',
  'waiting-children': 'waiting-children',
  failed: 'failed',
  completed: 'completed',
};

/** Checks a `--queue` or `--state` value; returns it typed. */
export function checkQueueAndState(queue: string | undefined, state: string | undefined): { queue?: JobName; state?: JobState } {
  const issues = [];
  if (queue !== undefined && !(QUEUE_NAMES as readonly string[]).includes(queue)) issues.push({ field: 'queue', rule: `must be one of ${QUEUE_NAMES.join(', ')} (got ${JSON.stringify(queue)})` });
  if (state !== undefined && !(JOB_STATES as readonly string[]).includes(state)) issues.push({ field: 'state', rule: `must be one of ${JOB_STATES.join(', ')} (got ${JSON.stringify(state)})` });
  if (issues.length > 0) throw new ValidationError(issues);
  return { ...(queue === undefined ? {} : { queue: queue as JobName }), ...(state === undefined ? {} : { state: state as JobState }) };
}

function summary(queue: JobName, state: JobState, job: Job): JobSummary {
  return {
    id: String(job.id),
    queue,
    state,
    attemptsMade: job.attemptsMade,
    attempts: job.opts.attempts ?? 1,
    createdAt: job.timestamp,
    ...(job.finishedOn ? { finishedAt: job.finishedOn } : {}),
    ...(job.parent?.id ? { parentId: job.parent.id } : {}),
    ...(job.failedReason ? { failedReason: redactUrl(job.failedReason) } : {}),
  };
}

/** Jobs of one or every queue and state, newest first (by when they were added). */
export async function listJobs(deps: AdminDeps, opts: ListJobsOptions = {}): Promise<JobSummary[]> {
  const limit = opts.limit ?? 50;
  if (!Number.isInteger(limit) || limit < 1 || limit > 10_000) throw new ValidationError([{ field: 'limit', rule: `must be an integer from 1 to 10000 (got ${limit})` }]);
  const queues = opts.queue ? [opts.queue] : QUEUE_NAMES;
  const states = opts.state ? [opts.state] : JOB_STATES;
  const lists = await Promise.all(
    queues.flatMap((queue) =>
      states.map(async (state) => {
        // getJobs returns the newest first for every state (LPUSHed lists, scores by time).
        const jobs = await deps.queue(queue).getJobs([BULL_TYPE[state]] as never, 0, limit - 1);
        return jobs.filter((j): j is Job => !!j).map((j) => summary(queue, state, j));
      }),
    ),
  );
  return lists
    .flat()
    .sort((a, b) => b.createdAt - a.createdAt || a.id.localeCompare(b.id))
    .slice(0, limit);
}

/** Blanks secrets in every string of a payload (URLs may carry presigned signatures or userinfo). */
export function redactPayload(value: unknown): unknown {
  if (typeof value === 'string') return redactUrl(value);
  if (Array.isArray(value)) return value.map(redactPayload);
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redactPayload(v)]));
  return value;
}

/** One job by id, from whichever queue holds it; undefined when no queue does (and no record exists). */
export async function showJob(deps: AdminDeps, jobId: string): Promise<JobDetails | undefined> {
  const found = await findJob(deps, jobId);
  const record = await deps.results.get(jobId);
  if (!found) {
    if (!record) return undefined;
    // The job was removed (retention) but its record is still readable.
    return {
      id: jobId,
      queue: record.queue as JobName,
      state: record.result.status >= 200 && record.result.status < 300 ? 'completed' : 'failed',
      attemptsMade: record.attempts,
      attempts: record.attempts,
      createdAt: record.finishedAt,
      finishedAt: record.finishedAt,
      ...(record.parentId ? { parentId: record.parentId } : {}),
      data: null,
      progress: null,
      record,
    };
  }
  const { queue, job } = found;
  const state = (await job.getState()) as JobState | 'unknown';
  const base = summary(queue, state === 'unknown' ? 'waiting' : state, job);
  let children: JobDetails['children'];
  if (queue === 'complete-multipart') {
    const c = await job.getDependenciesCount();
    children = { processed: c.processed ?? 0, failed: (c.failed ?? 0) + (c.ignored ?? 0), unprocessed: c.unprocessed ?? 0 };
  }
  return { ...base, data: redactPayload(job.data), progress: job.progress, ...(children ? { children } : {}), ...(record ? { record } : {}) };
}
