import { ValidationError } from '../errors/index.js';
import { jobCatalog, type JobName } from './jobCatalog.js';

/** Every job name, which is also its BullMQ queue name (one queue per job). */
export const QUEUE_NAMES = Object.keys(jobCatalog) as readonly JobName[];

/**
 * Wraps a BullMQ prefix in a Redis Cluster hash tag, `obsq` → `{obsq}`, so every key of every queue
 * lands in one slot: flows across queues (parts → complete) fail with CROSSSLOT otherwise. A prefix
 * that already holds a non-empty `{...}` tag is returned unchanged.
 *
 * @throws ValidationError for an empty prefix
 */
export function queuePrefix(prefix: string): string {
  if (prefix.length === 0) throw new ValidationError([{ field: 'prefix', rule: 'must not be empty' }]);
  return /\{[^}]+\}/.test(prefix) ? prefix : `{${prefix}}`;
}

/**
 * The job states obsq reports per queue (`obsq status`, `obsq_queue_jobs{state}`); pass them to
 * BullMQ's `queue.getJobCounts(...JOB_STATES)`. `prioritized` is listed because BullMQ keeps
 * prioritised waiting jobs in their own set: without it a prioritised backlog would be invisible.
 */
export const JOB_STATES = ['waiting', 'prioritized', 'active', 'delayed', 'waiting-children', 'failed', 'completed'] as const;

/** One of {@link JOB_STATES}. */
export type JobState = (typeof JOB_STATES)[number];
