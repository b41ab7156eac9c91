import type { JobsOptions } from 'bullmq';
import { jobOptionsFor, parseSize, type JobName, type ValidationIssue } from '@obsq/shared';

/** Job id rule: BullMQ reserves `:` and purely numeric ids. */
const JOB_ID = /^(?!\d+$)[A-Za-z0-9._-]{1,200}$/;

/** Checks a caller-chosen job id; returns the rule it breaks or undefined. */
export function jobIdRule(jobId: string): string | undefined {
  return JOB_ID.test(jobId) ? undefined : 'must be 1 to 200 characters of letters, digits, ".", "_" or "-", and not only digits';
}

/**
 * BullMQ options for a job from the catalog. Retries use the worker's custom backoff strategy,
 * which applies the catalog's capped, jittered exponential backoff and honours Retry-After.
 */
export function jobOptions(name: JobName, jobId: string, retentionSeconds: number): JobsOptions {
  return {
    jobId,
    ...jobOptionsFor(name),
    // Keep finished jobs as long as their records, so re-enqueueing the same id stays idempotent.
    removeOnComplete: { age: retentionSeconds },
    removeOnFail: { age: retentionSeconds },
  };
}

/**
 * The checks every enqueue shares: an optional part size (bytes or text such as `8MiB`) and the job
 * id (given, or a new one). Problems are appended to `issues`, so one error names every field.
 */
export function commonInput(
  input: { partSize?: number | string; jobId?: string },
  newJobId: () => string,
  issues: ValidationIssue[],
): { partSize: number | undefined; jobId: string } {
  let partSize: number | undefined;
  if (input.partSize !== undefined) {
    try {
      partSize = typeof input.partSize === 'number' ? input.partSize : parseSize(input.partSize, 'partSize');
    } catch (err) {
      issues.push({ field: 'partSize', rule: (err as Error).message.replace(/^partSize: /, '') });
    }
  }
  const jobId = input.jobId ?? newJobId();
  const idRule = jobIdRule(jobId);
  if (idRule) issues.push({ field: 'jobId', rule: idRule });
  return { partSize, jobId };
}
