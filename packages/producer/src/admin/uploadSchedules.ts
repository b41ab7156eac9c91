import type { Queue } from 'bullmq';
import type { Logger } from 'pino';
import { jobOptionsFor, parsePayload, ValidationError, type JobPayload, type ValidationIssue } from '@obsq/shared';
import { cronIssues } from '../transcriptions/schedules.js';

/** Input of `scheduleAbortStaleUploads`. */
export interface AbortStaleUploadsScheduleInput {
  /** Schedule id: 1–100 letters, digits, `.`, `_`, `-`. Scheduling an existing id replaces it. */
  id: string;
  /** Cron pattern, 5 fields or 6 with seconds first. */
  cron: string;
  /** IANA time zone the pattern is read in. @defaultValue 'UTC' */
  tz?: string;
  bucket: string;
  /** @defaultValue '' (the whole bucket) */
  prefix?: string;
  /** Uploads initiated at least this long ago are aborted, in ms (at least one minute). */
  olderThanMs: number;
}

/** An abort-stale-uploads schedule as stored in BullMQ. */
export interface AbortStaleUploadsSchedule {
  id: string;
  cron: string;
  tz: string;
  /** Epoch ms of the next run, when known. */
  next?: number;
  bucket: string;
  prefix: string;
  olderThanSeconds: number;
}

/** Runs are small; keep a day of them for `obsq jobs` and the UI, not more. */
const RUN_KEEP = { age: 24 * 3600, count: 1000 };

/** Creates or replaces a BullMQ job scheduler adding one `abort-stale-uploads` job per cron tick. */
export async function scheduleAbortStaleUploads(
  deps: { queue: Queue; retentionSeconds: number; logger: Logger; minIntervalMs: number },
  input: AbortStaleUploadsScheduleInput,
): Promise<AbortStaleUploadsSchedule> {
  const tz = input.tz ?? 'UTC';
  const issues: ValidationIssue[] = cronIssues(input.cron, tz, deps.minIntervalMs);
  let payload: JobPayload<'abort-stale-uploads'> | undefined;
  try {
    payload = parsePayload('abort-stale-uploads', {
      scheduleId: input.id,
      bucket: input.bucket,
      prefix: input.prefix ?? '',
      olderThanSeconds: Math.floor(input.olderThanMs / 1000),
    });
  } catch (err) {
    if (!(err instanceof ValidationError)) throw err;
    issues.push(...err.issues.map((i) => (i.field === 'scheduleId' ? { ...i, field: 'id' } : i.field === 'olderThanSeconds' ? { ...i, field: 'older-than' } : i)));
  }
  if (issues.length > 0 || !payload) throw new ValidationError(issues);
  const cron = input.cron.trim();
  await deps.queue.upsertJobScheduler(
    input.id,
    { pattern: cron, tz },
    {
      name: 'abort-stale-uploads',
      data: payload,
      opts: { ...jobOptionsFor('abort-stale-uploads'), removeOnComplete: RUN_KEEP, removeOnFail: { age: deps.retentionSeconds } },
    },
  );
  deps.logger.info({ scheduleId: input.id, cron, tz }, 'abort-stale-uploads schedule saved');
  return (await listAbortStaleUploadsSchedules(deps)).find((s) => s.id === input.id) ?? toSchedule(payload, cron, tz, undefined);
}

function toSchedule(d: JobPayload<'abort-stale-uploads'>, cron: string, tz: string, next: number | undefined): AbortStaleUploadsSchedule {
  return { id: d.scheduleId ?? '', cron, tz, ...(next === undefined ? {} : { next }), bucket: d.bucket, prefix: d.prefix, olderThanSeconds: d.olderThanSeconds };
}

/** Every abort-stale-uploads schedule, by id. */
export async function listAbortStaleUploadsSchedules(deps: { queue: Queue }): Promise<AbortStaleUploadsSchedule[]> {
  const all = await deps.queue.getJobSchedulers(0, -1, true);
  return all
    .filter((s) => s.name === 'abort-stale-uploads' && s.template?.data)
    .map((s) => toSchedule(s.template!.data as JobPayload<'abort-stale-uploads'>, s.pattern ?? '', s.tz ?? 'UTC', s.next))
    .sort((a, b) => a.id.localeCompare(b.id));
}
