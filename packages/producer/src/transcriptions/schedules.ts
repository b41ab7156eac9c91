import type { Queue } from 'bullmq';
import { CronExpressionParser } from 'cron-parser';
import type { Cluster, Redis } from 'ioredis';
import type { Logger } from 'pino';
import {
  jobOptionsFor,
  parsePayload,
  TRANSCRIPT_FORMATS,
  ValidationError,
  type JobPayload,
  type RasrMode,
  type RasrRequestInput,
  type ValidationIssue,
} from '@obsq/shared';
import type { TranscriptionEngine, TranscriptionOutput } from './enqueueTranscription.js';

/** Key endings a schedule picks up when none are given: WAV and headerless PCM. */
export const DEFAULT_SCHEDULE_SUFFIXES: readonly string[] = ['.wav', '.pcm', '.raw'];

/** Input of `scheduleTranscriptions`. */
export interface TranscriptionScheduleInput {
  /** Schedule id: 1–100 letters, digits, `.`, `_`, `-`. Scheduling an existing id replaces it. */
  id: string;
  /** Cron pattern, 5 fields or 6 with seconds first (`* * * * * *` ticks every second). */
  cron: string;
  /** IANA time zone the pattern is read in. @defaultValue 'UTC' */
  tz?: string;
  /** Bucket listed on every tick. */
  bucket: string;
  /** Key prefix listed on every tick. @defaultValue '' (whole bucket) */
  prefix?: string;
  /** Key endings to transcribe, case-insensitive. @defaultValue {@link DEFAULT_SCHEDULE_SUFFIXES} */
  suffixes?: string[];
  /** RASR request used for every object (see `EnqueueTranscriptionInput.request`). */
  request: RasrRequestInput;
  /** Transcripts of `<prefix>a/b.wav` go to `<output.prefix>a/b.<format>`. */
  output: TranscriptionOutput;
  /** @defaultValue the producer's `transcriber` */
  engine?: TranscriptionEngine;
  /** @defaultValue 'continue-stream' */
  mode?: RasrMode;
}

/** A schedule as stored in BullMQ. */
export interface TranscriptionSchedule {
  id: string;
  cron: string;
  tz: string;
  /** Epoch ms of the next tick, when known. */
  next?: number;
  bucket: string;
  prefix: string;
  suffixes: string[];
  engine: TranscriptionEngine;
  mode: RasrMode;
  output: JobPayload<'scan-transcriptions'>['output'];
  request: JobPayload<'scan-transcriptions'>['request'];
}

/** Dependencies of the schedule functions, owned by the Producer. */
export interface ScheduleDeps {
  /** The `scan-transcriptions` queue. */
  queue: Queue;
  redis: Redis | Cluster;
  prefix: string;
  defaultEngine: TranscriptionEngine;
  retentionSeconds: number;
  /** Shortest time between two ticks, in ms (`OBSQ_SCHEDULE_MIN_INTERVAL`). */
  minIntervalMs: number;
  logger: Logger;
}

/** Tick records are only interesting for a while; a per-second schedule must not pile them up. */
const TICK_KEEP = { age: 24 * 3600, count: 1000 };

/** Ticks looked at to find a pattern's shortest interval (enough to see a seconds or minutes field repeat). */
const TICKS_CHECKED = 64;

/** Problems with a cron pattern read in zone `tz` (field `cron` or `tz`), ticking at least `minIntervalMs` apart. */
export function cronIssues(cron: string, tz: string, minIntervalMs: number): ValidationIssue[] {
  const fields = cron.trim().split(/\s+/).length;
  if (fields !== 5 && fields !== 6) return [{ field: 'cron', rule: `must have 5 fields, or 6 with seconds first (got ${fields}: ${JSON.stringify(cron)})` }];
  try {
    const it = CronExpressionParser.parse(cron, { tz });
    // Every tick writes a record: a per-second pattern would write 600k of them in a week.
    let prev = it.next().getTime();
    let shortest = Number.POSITIVE_INFINITY;
    for (let i = 0; i < TICKS_CHECKED && it.hasNext(); i++) {
      const t = it.next().getTime();
      shortest = Math.min(shortest, t - prev);
      prev = t;
    }
    if (shortest < minIntervalMs) {
      return [{ field: 'cron', rule: `ticks every ${shortest / 1000} s, more often than the minimum interval of ${minIntervalMs / 1000} s (OBSQ_SCHEDULE_MIN_INTERVAL)` }];
    }
    return [];
  } catch (err) {
    // An unknown zone surfaces as an invalid date, not as a message naming the zone.
    if (!isTimeZone(tz)) return [{ field: 'tz', rule: `must be an IANA time zone such as UTC or Asia/Shanghai (got ${JSON.stringify(tz)})` }];
    return [{ field: 'cron', rule: `is not a valid cron pattern: ${(err as Error).message}` }];
  }
}

function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/** Redis hash of objects a schedule already enqueued (must match the worker's `scheduleDoneKey`). */
function doneKey(prefix: string, id: string): string {
  return `${prefix}:schedule:${id}:done`;
}

/**
 * Creates or replaces a BullMQ job scheduler that adds one `scan-transcriptions` job per cron tick.
 * Everything is validated (cron, zone, names, RASR request, output) before Redis is touched.
 */
export async function scheduleTranscriptions(deps: ScheduleDeps, input: TranscriptionScheduleInput): Promise<TranscriptionSchedule> {
  const tz = input.tz ?? 'UTC';
  const issues = cronIssues(input.cron, tz, deps.minIntervalMs);
  let payload: JobPayload<'scan-transcriptions'> | undefined;
  try {
    payload = parsePayload('scan-transcriptions', {
      scheduleId: input.id,
      bucket: input.bucket,
      prefix: input.prefix ?? '',
      suffixes: input.suffixes ?? [...DEFAULT_SCHEDULE_SUFFIXES],
      request: input.request,
      ...(input.mode === undefined ? {} : { mode: input.mode }),
      engine: input.engine ?? deps.defaultEngine,
      output: { bucket: input.output.bucket, prefix: input.output.prefix, formats: input.output.formats ?? [...TRANSCRIPT_FORMATS] },
    });
  } catch (err) {
    if (!(err instanceof ValidationError)) throw err;
    issues.push(...err.issues.map((i) => (i.field === 'scheduleId' ? { ...i, field: 'id' } : i)));
  }
  if (issues.length > 0 || !payload) throw new ValidationError(issues);

  const cron = input.cron.trim();
  await deps.queue.upsertJobScheduler(
    payload.scheduleId,
    { pattern: cron, tz },
    {
      name: 'scan-transcriptions',
      data: payload,
      opts: {
        ...jobOptionsFor('scan-transcriptions'),
        removeOnComplete: TICK_KEEP,
        // The worker keeps the transcriptions a tick enqueues as long as this.
        removeOnFail: { age: deps.retentionSeconds },
      },
    },
  );
  deps.logger.info({ scheduleId: payload.scheduleId, cron, tz }, 'transcription schedule saved');
  const saved = await getSchedule(deps, payload.scheduleId);
  return saved ?? toSchedule(payload, cron, tz, undefined);
}

function toSchedule(data: JobPayload<'scan-transcriptions'>, cron: string, tz: string, next: number | undefined): TranscriptionSchedule {
  return {
    id: data.scheduleId,
    cron,
    tz,
    ...(next === undefined ? {} : { next }),
    bucket: data.bucket,
    prefix: data.prefix,
    suffixes: data.suffixes,
    engine: data.engine,
    mode: data.mode,
    output: data.output,
    request: data.request,
  };
}

async function getSchedule(deps: ScheduleDeps, id: string): Promise<TranscriptionSchedule | undefined> {
  const s = await deps.queue.getJobScheduler(id);
  const data = s?.template?.data as JobPayload<'scan-transcriptions'> | undefined;
  return s && data ? toSchedule(data, s.pattern ?? '', s.tz ?? 'UTC', s.next) : undefined;
}

/** Every transcription schedule, by id. */
export async function listTranscriptionSchedules(deps: ScheduleDeps): Promise<TranscriptionSchedule[]> {
  const all = await deps.queue.getJobSchedulers(0, -1, true);
  return all
    .filter((s) => s.name === 'scan-transcriptions' && s.template?.data)
    .map((s) => toSchedule(s.template!.data as JobPayload<'scan-transcriptions'>, s.pattern ?? '', s.tz ?? 'UTC', s.next))
    .sort((a, b) => a.id.localeCompare(b.id));
}

/**
 * Removes a schedule; its pending tick goes with it. The record of what it already enqueued is
 * kept, so re-creating the same id does not transcribe those objects again, unless `forget`.
 * Returns false when no such schedule existed.
 */
export async function removeTranscriptionSchedule(deps: ScheduleDeps, id: string, { forget = false }: { forget?: boolean } = {}): Promise<boolean> {
  if (!/^[A-Za-z0-9._-]{1,100}$/.test(id)) throw new ValidationError([{ field: 'id', rule: `must be 1 to 100 letters, digits, ".", "_" or "-" (got ${JSON.stringify(id)})` }]);
  const removed = await deps.queue.removeJobScheduler(id);
  if (forget) await deps.redis.del(doneKey(deps.prefix, id));
  deps.logger.info({ scheduleId: id, removed, forget }, 'transcription schedule removed');
  return removed;
}
