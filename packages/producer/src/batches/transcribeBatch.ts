import { stat } from 'node:fs/promises';
import { extname, resolve } from 'node:path';
import type { Queue } from 'bullmq';
import type { Logger } from 'pino';
import {
  batchIdIssues,
  batchFileJobId,
  bucketNameIssues,
  filePinOf,
  parsePayload,
  sourceVersionOf,
  TRANSCRIPT_FORMATS,
  TRANSCRIPT_SOURCE_METADATA,
  ValidationError,
  type BatchStore,
  type JobPayload,
  type RasrMode,
  type RasrRequestInput,
  type TranscriptFormat,
  type ValidationIssue,
} from '@obsq/shared';
import type { ObsClient } from '@obsq/storage';
import { jobOptions } from '../jobOptions.js';
import { DEFAULT_SCHEDULE_SUFFIXES } from '../transcriptions/schedules.js';
import type { TranscriptionEngine } from '../transcriptions/enqueueTranscription.js';
import type { EnqueuedBatch } from './enqueueBatch.js';
import { walkDirectory } from './batchItems.js';
import { PathFilter } from './globFilter.js';

/** Input of `enqueueTranscriptionBatch`: every audio object under a prefix, or file under a directory. */
export interface TranscriptionBatchInput {
  /** `{ bucket, prefix }` (objects, listed page by page) or `{ dir }` (files every worker can read). */
  source: { bucket: string; prefix: string } | { dir: string };
  /** Transcripts go to `prefix + <relative folder> + <stem>.<format>`, mirroring the source tree. */
  output: { bucket: string; prefix: string; formats?: TranscriptFormat[] };
  request: RasrRequestInput;
  /** @defaultValue the producer's `transcriber` */
  engine?: TranscriptionEngine;
  mode?: RasrMode;
  /** Key or file name endings to transcribe, case-insensitive. @defaultValue `.wav`, `.pcm`, `.raw` */
  suffixes?: readonly string[];
  /** @defaultValue a new id */
  batchId?: string;
  /** Skip audio whose transcript already exists for the same version (ETag, or file pin). */
  skipExisting?: boolean;
}

/** Dependencies of {@link enqueueTranscriptionBatch}, owned by the Producer. */
export interface TranscriptionBatchDeps {
  queue: Queue;
  storage: ObsClient;
  batches: BatchStore;
  defaultEngine: TranscriptionEngine;
  retentionSeconds: number;
  logger: Logger;
  newBatchId: () => string;
}

interface Found {
  /** Path below the source prefix or directory. */
  rel: string;
  audio: JobPayload<'transcribe-audio-file'>['audio'];
  item: string;
  bytes: number;
}

const CHUNK = 256;

/**
 * Transcribes every audio object under a prefix (or file under a directory) once, as a batch: one
 * `transcribe-audio-file` job per file, the same batch record as uploads (`files, succeeded, failed,
 * skipped, …`). With `skipExisting`, audio whose first transcript format already exists and names
 * the same source version (its `obsq-source-version` metadata) is skipped.
 */
export async function enqueueTranscriptionBatch(deps: TranscriptionBatchDeps, input: TranscriptionBatchInput, signal?: AbortSignal): Promise<EnqueuedBatch> {
  const issues: ValidationIssue[] = [...bucketNameIssues(input.output?.bucket, 'output.bucket')];
  if ('bucket' in input.source) issues.push(...bucketNameIssues(input.source.bucket, 'source.bucket'));
  else if (typeof input.source.dir !== 'string' || input.source.dir === '') issues.push({ field: 'source.dir', rule: 'must be a directory path' });
  const batchId = input.batchId ?? deps.newBatchId();
  issues.push(...batchIdIssues(batchId));
  const suffixes = (input.suffixes ?? DEFAULT_SCHEDULE_SUFFIXES).map((s) => s.toLowerCase());
  if (suffixes.length === 0) issues.push({ field: 'suffixes', rule: 'must list at least one ending, e.g. .wav' });
  if (issues.length > 0) throw new ValidationError(issues);
  const formats = input.output.formats ?? [...TRANSCRIPT_FORMATS];
  const engine = input.engine ?? deps.defaultEngine;
  const { batches, storage } = deps;

  const finished = await batches.status(batchId);
  if (finished?.record) return { batchId, created: false, enqueued: 0, skipped: 0, refused: 0, bytes: 0, record: finished.record };
  await storage.headBucket({ bucket: input.output.bucket, signal });
  const where = 'bucket' in input.source ? { bucket: input.source.bucket, prefix: input.source.prefix } : { bucket: input.output.bucket, prefix: resolve(input.source.dir) };
  const created = await batches.create(batchId, where);
  const isAudio = (name: string) => suffixes.some((s) => name.toLowerCase().endsWith(s));

  const found = async function* (): AsyncGenerator<Found> {
    if ('bucket' in input.source) {
      const { bucket, prefix } = input.source;
      for await (const page of storage.listObjectPages({ bucket, prefix, pageSize: 1000, signal })) {
        for (const o of page) {
          if (!isAudio(o.key)) continue;
          const etag = o.etag.replace(/"/g, '');
          yield { rel: o.key.slice(prefix.length), audio: { kind: 'object', bucket, key: o.key, etag }, item: `obs://${bucket}/${o.key}`, bytes: o.size };
        }
      }
      return;
    }
    for await (const f of walkDirectory(input.source.dir, '', new PathFilter(), () => undefined)) {
      if (!isAudio(f.key)) continue;
      const st = await stat(f.source, { bigint: true });
      yield { rel: f.key, audio: { kind: 'file', path: f.source, pin: filePinOf(st) }, item: f.source, bytes: Number(st.size) };
    }
  };

  const totals = { enqueued: 0, skipped: 0, refused: 0, bytes: 0 };
  const flush = async (chunk: Found[]) => {
    const jobs: Array<{ name: string; data: unknown; opts: ReturnType<typeof jobOptions> }> = [];
    const members: Array<{ jobId: string; bytes: number }> = [];
    const skipped: string[] = [];
    for (const f of chunk) {
      const jobId = batchFileJobId(batchId, f.rel);
      const dir = f.rel.includes('/') ? f.rel.slice(0, f.rel.lastIndexOf('/') + 1) : '';
      const outPrefix = `${input.output.prefix}${dir}`;
      if (input.skipExisting) {
        const name = f.rel.slice(dir.length);
        const stem = name.slice(0, name.length - extname(name).length) || 'audio';
        const head = await storage.headObject({ bucket: input.output.bucket, key: `${outPrefix}${stem}.${formats[0]}`, signal }).catch(() => undefined);
        const version = sourceVersionOf(f.audio);
        if (version !== '' && head?.body?.metadata?.[TRANSCRIPT_SOURCE_METADATA] === version) {
          skipped.push(jobId);
          continue;
        }
      }
      try {
        const data = parsePayload('transcribe-audio-file', {
          audio: f.audio,
          request: input.request,
          ...(input.mode === undefined ? {} : { mode: input.mode }),
          engine,
          output: { bucket: input.output.bucket, prefix: outPrefix, formats },
          batch: { id: batchId, item: f.item, bytes: f.bytes },
        });
        jobs.push({ name: 'transcribe-audio-file', data, opts: jobOptions('transcribe-audio-file', jobId, deps.retentionSeconds) });
        members.push({ jobId, bytes: f.bytes });
      } catch (err) {
        totals.refused++;
        await batches.refuse(batchId, { key: f.rel, source: f.item, jobId: '', errorCode: (err as { code?: string }).code ?? 'OBSQ_VALIDATION', errorMessage: (err as Error).message });
      }
    }
    if (jobs.length > 0) await deps.queue.addBulk(jobs as Parameters<Queue['addBulk']>[0]);
    totals.enqueued += await batches.addMembers(batchId, members);
    totals.skipped += await batches.skip(batchId, skipped);
    totals.bytes += members.reduce((n, m) => n + m.bytes, 0);
  };

  let chunk: Found[] = [];
  for await (const f of found()) {
    signal?.throwIfAborted();
    chunk.push(f);
    if (chunk.length >= CHUNK) {
      await flush(chunk);
      chunk = [];
    }
  }
  if (chunk.length > 0) await flush(chunk);
  const record = await batches.seal(batchId);
  deps.logger.info({ batchId, ...totals }, 'transcription batch enqueued');
  return { batchId, created, ...totals, ...(record ? { record } : {}) };
}
