import { createHash } from 'node:crypto';
import {
  coerceError,
  errorCode,
  jobOptionsFor,
  makeGetResult,
  parsePayload,
  type GetResult,
  type ScanTranscriptionsPayload,
} from '@obsq/shared';
import { type ListedObject } from '@obsq/storage';
import type { JobContext } from './jobContext.js';

/** One transcription a schedule tick enqueued. */
export interface ScanEnqueued {
  key: string;
  etag: string;
  /** Job id of the `transcribe-audio-file` job; its record is the transcript's GetResult. */
  jobId: string;
}

/** Record body of one schedule tick. */
export interface ScanRecordBody {
  scheduleId: string;
  bucket: string;
  prefix: string;
  /** Objects listed under `prefix`. */
  listed: number;
  /** Objects whose key ends with one of the suffixes (and that are not transcript outputs). */
  matched: number;
  /** Matched objects already enqueued earlier with the same ETag. */
  alreadyDone: number;
  /** Matched objects skipped because no valid transcription job could be built for them. */
  invalid: number;
  /** What this tick enqueued (at most {@link MAX_LISTED_IN_RECORD} entries are listed). */
  enqueued: ScanEnqueued[];
  /** Number of transcriptions enqueued by this tick. */
  enqueuedCount: number;
}

/** Keeps tick records small: a first scan of a large prefix enqueues many jobs. */
export const MAX_LISTED_IN_RECORD = 1000;
const BATCH = 500;

/**
 * Redis hash of a schedule's done objects: field `bucket/key`, value the ETag that was enqueued.
 * Shares the queues' hash tag so it sits in their cluster slot.
 */
export function scheduleDoneKey(prefix: string, scheduleId: string): string {
  return `${prefix}:schedule:${scheduleId}:done`;
}

/**
 * Job id of the transcription of one object version. Deterministic, so two ticks racing over the
 * same object (a stalled tick re-run, two workers) add one job: BullMQ ignores a duplicate id.
 */
export function scheduledTranscriptionJobId(scheduleId: string, bucket: string, key: string, etag: string): string {
  const h = createHash('sha256').update(`${scheduleId}\0${bucket}\0${key}\0${etag}`).digest('hex');
  return `sched-${h.slice(0, 40)}`;
}

function normEtag(etag: string): string {
  return etag.replace(/"/g, '');
}

/**
 * One tick of a transcription schedule: lists `bucket/prefix`, and for every object whose key ends
 * with one of `suffixes` and whose ETag differs from the one recorded for it, enqueues a
 * `transcribe-audio-file` job pinned to that ETag and records the ETag. An unchanged object is
 * never enqueued twice; a changed one (new ETag) is transcribed again. The mark is set when the
 * transcription is enqueued, not when it succeeds: a permanently failing object is not retried
 * every tick.
 */
export async function scanTranscriptions(ctx: JobContext<'scan-transcriptions'>): Promise<GetResult<ScanRecordBody>> {
  const { data, signal } = ctx;
  const objects = await ctx.storage.listAllObjects({ bucket: data.bucket, prefix: data.prefix, signal });
  const suffixes = data.suffixes.map((s) => s.toLowerCase());
  const outputsHere = data.output.bucket === data.bucket && data.output.prefix !== '';
  const matched = objects.filter(
    (o) =>
      o.size > 0 &&
      suffixes.some((s) => o.key.toLowerCase().endsWith(s)) &&
      !(outputsHere && o.key.startsWith(data.output.prefix)),
  );

  const doneKey = scheduleDoneKey(ctx.prefix, data.scheduleId);
  const queue = ctx.queue('transcribe-audio-file');
  // The schedule's template carries the producer's retention; transcriptions are kept as long.
  const keep = ctx.job.opts.removeOnFail ?? { age: 7 * 24 * 3600 };
  const enqueued: ScanEnqueued[] = [];
  let alreadyDone = 0;
  let invalid = 0;
  let enqueuedCount = 0;

  for (let i = 0; i < matched.length; i += BATCH) {
    signal.throwIfAborted();
    const batch = matched.slice(i, i + BATCH);
    const seen = await ctx.redis.hmget(doneKey, ...batch.map((o) => `${data.bucket}/${o.key}`));
    const marks: string[] = [];
    for (const [j, obj] of batch.entries()) {
      const etag = normEtag(obj.etag);
      if (seen[j] === etag) {
        alreadyDone++;
        continue;
      }
      const payload = buildPayload(data, obj, etag);
      if (!payload) {
        invalid++;
        continue;
      }
      const jobId = scheduledTranscriptionJobId(data.scheduleId, data.bucket, obj.key, etag);
      await queue.add('transcribe-audio-file', payload, {
        jobId,
        ...jobOptionsFor('transcribe-audio-file'),
        removeOnComplete: keep,
        removeOnFail: keep,
      });
      marks.push(`${data.bucket}/${obj.key}`, etag);
      enqueuedCount++;
      if (enqueued.length < MAX_LISTED_IN_RECORD) enqueued.push({ key: obj.key, etag, jobId });
    }
    if (marks.length > 0) await ctx.redis.hset(doneKey, ...marks);
  }

  if (enqueuedCount > 0 || invalid > 0) {
    ctx.logger.info({ scheduleId: data.scheduleId, listed: objects.length, enqueued: enqueuedCount, invalid }, 'schedule tick enqueued transcriptions');
  }
  return makeGetResult({
    status: 200,
    reason: 'OK',
    body: {
      scheduleId: data.scheduleId,
      bucket: data.bucket,
      prefix: data.prefix,
      listed: objects.length,
      matched: matched.length,
      alreadyDone,
      invalid,
      enqueued,
      enqueuedCount,
    },
  });

  function buildPayload(d: ScanTranscriptionsPayload, obj: ListedObject, etag: string) {
    // Transcripts mirror the listed tree: in/a/b.wav → out/a/b.srt, so equal file names in
    // different folders do not overwrite each other.
    const rel = obj.key.slice(d.prefix.length);
    const dir = rel.includes('/') ? rel.slice(0, rel.lastIndexOf('/') + 1) : '';
    try {
      return parsePayload('transcribe-audio-file', {
        audio: { kind: 'object', bucket: d.bucket, key: obj.key, etag },
        request: d.request,
        mode: d.mode,
        engine: d.engine,
        output: { bucket: d.output.bucket, prefix: `${d.output.prefix}${dir}`, formats: d.output.formats },
      });
    } catch (err) {
      const e = coerceError(err);
      ctx.logger.warn({ err: e, errorCode: errorCode(e), scheduleId: d.scheduleId }, 'schedule tick skipped an object it cannot transcribe');
      return undefined;
    }
  }
}
