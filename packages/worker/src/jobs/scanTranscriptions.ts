import { createHash } from 'node:crypto';
import {
  coerceError,
  errorCode,
  jobOptionsFor,
  makeGetResult,
  parsePayload,
  parseScheduleObjectState,
  SCHEDULE_ERRORS_KEPT,
  scheduleErrorsKey,
  scheduleRetryDelayMs,
  scheduleStateKey,
  scheduleTicksKey,
  type GetResult,
  type ScanTranscriptionsPayload,
  type TranscribeAudioFilePayload,
  type ScheduleErrorEntry,
  type ScheduleObjectError,
  type ScheduleObjectState,
  type StoredResult,
} from '@obsq/shared';
import { type ListedObject } from '@obsq/storage';
import type { JobContext } from './jobContext.js';

/** One transcription a schedule tick enqueued. */
export interface ScanEnqueued {
  key: string;
  etag: string;
  /** Job id of the `transcribe-audio-file` job; its record is the transcript's GetResult. */
  jobId: string;
  /** Which try of this object version (1 = first). */
  try: number;
}

/** An object whose transcription this tick found failed. */
export interface ScanFailed {
  key: string;
  etag: string;
  jobId: string;
  try: number;
  errorCode: string;
  /** True when it was the last try (`maxTries`): the object is given up. */
  givenUp: boolean;
}

/** Record body of one schedule tick (written only when the tick enqueued or saw a failure). */
export interface ScanRecordBody {
  scheduleId: string;
  bucket: string;
  prefix: string;
  /** Objects listed under `prefix`. */
  listed: number;
  /** Objects whose key ends with one of the suffixes (and that are not transcript outputs). */
  matched: number;
  /** Matched objects whose transcription of this ETag already succeeded. */
  alreadyDone: number;
  /** Matched objects whose transcription is enqueued or running. */
  pending: number;
  /** Matched objects given up earlier (`maxTries` failed tries). */
  givenUp: number;
  /** Objects given up by this tick because no valid transcription job can be built for them. */
  invalid: number;
  /** What this tick enqueued, first tries and retries (at most {@link MAX_LISTED_IN_RECORD} listed). */
  enqueued: ScanEnqueued[];
  /** Number of transcriptions enqueued by this tick. */
  enqueuedCount: number;
  /** Transcriptions this tick found failed (at most {@link MAX_LISTED_IN_RECORD} listed). */
  failed: ScanFailed[];
  /** Number of failures this tick found. */
  failedCount: number;
}

/** Keeps tick records small: a first scan of a large prefix enqueues many jobs. */
export const MAX_LISTED_IN_RECORD = 1000;
const BATCH = 500;

/** The hash of ETags the schedules of earlier versions kept; read once per object to migrate it. */
function legacyDoneKey(prefix: string, scheduleId: string): string {
  return `${prefix}:schedule:${scheduleId}:done`;
}

/**
 * Job id of one try of the transcription of one object version. Deterministic, so two ticks
 * racing over the same object (a stalled tick re-run, two workers) add one job: BullMQ ignores a
 * duplicate id. The first try keeps the id earlier versions used.
 */
export function scheduledTranscriptionJobId(scheduleId: string, bucket: string, key: string, etag: string, attempt = 1): string {
  const h = createHash('sha256').update(`${scheduleId}\0${bucket}\0${key}\0${etag}${attempt > 1 ? `\0${attempt}` : ''}`).digest('hex');
  return `sched-${h.slice(0, 40)}`;
}

function normEtag(etag: string): string {
  return etag.replace(/"/g, '');
}

/**
 * One tick of a transcription schedule. Lists `bucket/prefix`; for every object whose key ends
 * with one of `suffixes`, per ETag:
 * - never seen (or a new ETag): enqueues a `transcribe-audio-file` job pinned to that ETag (`pending`);
 * - `pending`: reads the transcription's record; 200 makes it `done`, a failure makes it `failed`
 *   with a retry time (`retryDelayMs`, doubled per try), or `given-up` after `maxTries`;
 * - `failed` and due: enqueues the next try.
 * Done means transcribed: an object is never marked done before its transcript record is 200.
 * A tick that enqueues nothing and sees no failure returns no record (nothing worth keeping).
 */
export async function scanTranscriptions(ctx: JobContext<'scan-transcriptions'>): Promise<GetResult<ScanRecordBody> | undefined> {
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

  const stateKey = scheduleStateKey(ctx.prefix, data.scheduleId);
  const legacyKey = legacyDoneKey(ctx.prefix, data.scheduleId);
  const queue = ctx.queue('transcribe-audio-file');
  // The schedule's template carries the producer's retention; transcriptions are kept as long.
  const keep = ctx.job.opts.removeOnFail ?? { age: 7 * 24 * 3600 };
  const enqueued: ScanEnqueued[] = [];
  const failed: ScanFailed[] = [];
  const errors: ScheduleErrorEntry[] = [];
  const counts = { alreadyDone: 0, pending: 0, givenUp: 0, invalid: 0, enqueued: 0, failed: 0 };
  const now = Date.now();

  for (let i = 0; i < matched.length; i += BATCH) {
    signal.throwIfAborted();
    const batch = matched.slice(i, i + BATCH);
    const fields = batch.map((o) => `${data.bucket}/${o.key}`);
    const [raw, legacy] = await Promise.all([ctx.redis.hmget(stateKey, ...fields), ctx.redis.hmget(legacyKey, ...fields)]);
    const states = raw.map(parseScheduleObjectState);
    const etags = batch.map((o) => normEtag(o.etag));

    // Records of the pending transcriptions, in one round trip.
    const pendingIdx = states.flatMap((st, j) => (st?.status === 'pending' && st.etag === etags[j] ? [j] : []));
    const records = pendingIdx.length > 0 ? await ctx.redis.mget(...pendingIdx.map((j) => ctx.results.key(states[j]!.jobId))) : [];
    const recordOf = new Map(pendingIdx.map((j, n) => [j, records[n] ?? null]));

    const writes: string[] = [];
    for (const [j, obj] of batch.entries()) {
      const etag = etags[j]!;
      let st = states[j];
      if (!st && legacy[j] === etag) {
        // Enqueued by a version that marked objects at enqueue time: trust it, as that version did.
        st = { etag, status: 'done', tries: 1, jobId: scheduledTranscriptionJobId(data.scheduleId, data.bucket, obj.key, etag) };
        writes.push(fields[j]!, JSON.stringify(st));
      }
      if (st && st.etag === etag && st.status === 'pending') {
        const settled = await settle(st, recordOf.get(j) ?? null);
        if (!settled) {
          counts.pending++;
          continue;
        }
        st = settled;
        writes.push(fields[j]!, JSON.stringify(st));
        if (st.status === 'failed' || st.status === 'given-up') {
          counts.failed++;
          const e = st.lastError!;
          if (failed.length < MAX_LISTED_IN_RECORD) failed.push({ key: obj.key, etag, jobId: st.jobId, try: st.tries, errorCode: e.code, givenUp: st.status === 'given-up' });
          errors.push({ ...e, bucket: data.bucket, key: obj.key, etag, try: st.tries, givenUp: st.status === 'given-up' });
          if (st.status === 'given-up') ctx.metrics.scheduleGivenUp();
        }
      }
      if (st && st.etag === etag) {
        if (st.status === 'done') {
          counts.alreadyDone++;
          continue;
        }
        if (st.status === 'given-up') {
          counts.givenUp++;
          continue;
        }
        if (st.status === 'failed' && (st.retryAt ?? 0) > now) continue;
      }
      // New object, new ETag, or a failed one that is due.
      const attempt = st && st.etag === etag ? st.tries + 1 : 1;
      const built = buildPayload(data, obj, etag);
      if ('error' in built) {
        // Given up at once: the same object and schedule build the same payload on every tick.
        counts.invalid++;
        const error: ScheduleObjectError = { code: errorCode(built.error) ?? 'OBSQ_VALIDATION', message: built.error.message, status: 0, at: now };
        const jobId = scheduledTranscriptionJobId(data.scheduleId, data.bucket, obj.key, etag, attempt);
        writes.push(fields[j]!, JSON.stringify({ etag, status: 'given-up', tries: attempt, jobId, lastError: error } satisfies ScheduleObjectState));
        errors.push({ ...error, bucket: data.bucket, key: obj.key, etag, try: attempt, givenUp: true });
        ctx.metrics.scheduleGivenUp();
        continue;
      }
      const payload = built.payload;
      const jobId = scheduledTranscriptionJobId(data.scheduleId, data.bucket, obj.key, etag, attempt);
      await queue.add('transcribe-audio-file', payload, {
        jobId,
        ...jobOptionsFor('transcribe-audio-file'),
        removeOnComplete: keep,
        removeOnFail: keep,
      });
      const next: ScheduleObjectState = {
        etag,
        status: 'pending',
        tries: attempt,
        jobId,
        ...(st?.etag === etag && st.lastError ? { lastError: st.lastError } : {}),
      };
      writes.push(fields[j]!, JSON.stringify(next));
      counts.enqueued++;
      if (enqueued.length < MAX_LISTED_IN_RECORD) enqueued.push({ key: obj.key, etag, jobId, try: attempt });
    }
    if (writes.length > 0) await ctx.redis.hset(stateKey, ...writes);
  }

  const ticksKey = scheduleTicksKey(ctx.prefix, data.scheduleId);
  const tx = ctx.redis.multi();
  tx.hset(ticksKey, 'lastTickAt', String(now), 'lastListed', String(objects.length), 'lastEnqueued', String(counts.enqueued));
  tx.hincrby(ticksKey, 'ticks', 1);
  if (errors.length > 0) {
    const errorsKey = scheduleErrorsKey(ctx.prefix, data.scheduleId);
    tx.lpush(errorsKey, ...errors.slice(-SCHEDULE_ERRORS_KEPT).map((e) => JSON.stringify(e)));
    tx.ltrim(errorsKey, 0, SCHEDULE_ERRORS_KEPT - 1);
  }
  await tx.exec();

  if (counts.enqueued === 0 && counts.failed === 0 && counts.invalid === 0) return undefined;
  ctx.logger.info({ scheduleId: data.scheduleId, listed: objects.length, ...counts }, 'schedule tick enqueued transcriptions or saw failures');
  return makeGetResult({
    status: 200,
    reason: 'OK',
    body: {
      scheduleId: data.scheduleId,
      bucket: data.bucket,
      prefix: data.prefix,
      listed: objects.length,
      matched: matched.length,
      alreadyDone: counts.alreadyDone,
      pending: counts.pending,
      givenUp: counts.givenUp,
      invalid: counts.invalid,
      enqueued,
      enqueuedCount: counts.enqueued,
      failed,
      failedCount: counts.failed,
    },
  });

  /**
   * The next state of a pending object from its transcription's record, or `undefined` while the
   * transcription is still queued or running.
   */
  async function settle(st: ScheduleObjectState, rawRecord: string | null): Promise<ScheduleObjectState | undefined> {
    let error: ScheduleObjectError;
    if (rawRecord !== null) {
      const rec = JSON.parse(rawRecord) as StoredResult;
      if (rec.result.status === 200) return { etag: st.etag, status: 'done', tries: st.tries, jobId: st.jobId, ...(st.lastError ? { lastError: st.lastError } : {}) };
      error = { code: rec.result.errorCode || 'OBSQ_INTERNAL', message: rec.result.errorMessage || `HTTP ${rec.result.status}`, status: rec.result.status, at: now };
    } else {
      const state = await queue.getJobState(st.jobId);
      if (state !== 'unknown') return undefined;
      // Neither a record nor a job: removed by hand, or its record expired unread.
      error = { code: 'OBSQ_INTERNAL', message: 'the transcription job vanished without a record', status: 0, at: now };
    }
    if (st.tries >= data.maxTries) return { etag: st.etag, status: 'given-up', tries: st.tries, jobId: st.jobId, lastError: error };
    return { etag: st.etag, status: 'failed', tries: st.tries, jobId: st.jobId, retryAt: now + scheduleRetryDelayMs(data.retryDelayMs, st.tries), lastError: error };
  }

  function buildPayload(d: ScanTranscriptionsPayload, obj: ListedObject, etag: string): { payload: TranscribeAudioFilePayload } | { error: Error } {
    // Transcripts mirror the listed tree: in/a/b.wav → out/a/b.srt, so equal file names in
    // different folders do not overwrite each other.
    const rel = obj.key.slice(d.prefix.length);
    const dir = rel.includes('/') ? rel.slice(0, rel.lastIndexOf('/') + 1) : '';
    try {
      const payload = parsePayload('transcribe-audio-file', {
        audio: { kind: 'object', bucket: d.bucket, key: obj.key, etag },
        request: d.request,
        mode: d.mode,
        engine: d.engine,
        output: { bucket: d.output.bucket, prefix: `${d.output.prefix}${dir}`, formats: d.output.formats },
      });
      return { payload };
    } catch (err) {
      const e = coerceError(err);
      ctx.logger.warn({ err: e, errorCode: errorCode(e), scheduleId: d.scheduleId }, 'schedule tick gave up an object it cannot transcribe');
      return { error: e };
    }
  }
}
