import { stat } from 'node:fs/promises';
import { isAbsolute, resolve } from 'node:path';
import type { Queue } from 'bullmq';
import type { Logger } from 'pino';
import {
  filePinOf,
  parsePayload,
  TRANSCRIPT_FORMATS,
  ValidationError,
  type JobPayload,
  type RasrMode,
  type RasrRequestInput,
  type TranscriptFormat,
  type UrlClient,
  type ValidationIssue,
} from '@obsq/shared';
import { type ObsClient } from '@obsq/storage';
import { jobIdRule, jobOptions } from '../jobOptions.js';

/** Recogniser of a transcription: Huawei SIS (websocket), or the worker's local engine. */
export type TranscriptionEngine = 'sis' | 'local';

/**
 * Where the audio comes from: an object in storage (`{ bucket, key }`), an http(s) URL, or a file
 * every worker can read under its `OBSQ_SOURCE_ROOTS`. WAV, or headerless audio in
 * `request.audioFormat`.
 */
export type TranscriptionAudio =
  | { kind?: 'object'; bucket: string; key: string; versionId?: string; etag?: string }
  | { kind: 'url'; url: string }
  | { kind: 'file'; path: string };

/** Where transcripts are written: `<prefix><audio file stem>.<format>` in `bucket`. */
export interface TranscriptionOutput {
  bucket: string;
  /** Key prefix, usually ending in `/`. */
  prefix: string;
  /** @defaultValue all four: `['json', 'srt', 'vtt', 'txt']` */
  formats?: TranscriptFormat[];
}

/** Input of `enqueueTranscription`. */
export interface EnqueueTranscriptionInput {
  audio: TranscriptionAudio;
  /**
   * RASR request (seed §8): `audioFormat` and `property` are required; `addPunc` (no),
   * `digitNorm` (yes), `vadHead` (10000 ms, 0–60000), `vadTail` (500 ms, 0–3000), `maxSeconds`
   * (30, 1–60), `interimResults` (no), `vocabularyId`, `needWordInfo` (no) default as SIS does.
   */
  request: RasrRequestInput;
  /** Transcript objects to write; without it only the record holds the transcript. */
  output?: TranscriptionOutput;
  /** @defaultValue the producer's `transcriber` (`OBSQ_TRANSCRIBER`) */
  engine?: TranscriptionEngine;
  /** RASR mode. @defaultValue 'continue-stream' */
  mode?: RasrMode;
  /** Job id; re-enqueueing an existing id returns it with `created: false`. @defaultValue a UUID */
  jobId?: string;
}

/** What `enqueueTranscription` returns. */
export interface EnqueuedTranscription {
  /** Job id; its record is the transcription's GetResult (`requestId` = SIS `trace_id`). */
  jobId: string;
  engine: TranscriptionEngine;
  /** False when the job id already existed and nothing new was enqueued. */
  created: boolean;
}

/** Dependencies of {@link enqueueTranscription}, owned by the Producer. */
export interface TranscriptionDeps {
  queue: Queue;
  storage: ObsClient;
  /** Policy-checked http(s) client: a URL the workers would refuse is refused at enqueue. */
  urls: UrlClient;
  defaultEngine: TranscriptionEngine;
  retentionSeconds: number;
  logger: Logger;
  newJobId: () => string;
}

/** The catalog's `audio` for an input source (objects get `kind: 'object'`, files an absolute path). */
async function audioSource(audio: TranscriptionAudio): Promise<JobPayload<'transcribe-audio-file'>['audio'] | Record<string, unknown>> {
  if (audio.kind === 'url') return { kind: 'url', url: audio.url };
  if (audio.kind === 'file') {
    if (typeof audio.path !== 'string') return { kind: 'file', path: audio.path };
    const path = isAbsolute(audio.path) ? audio.path : resolve(audio.path);
    // Pinned now so the worker refuses a file that changed or was replaced before or during recognition.
    const st = await stat(path, { bigint: true }).catch((cause: NodeJS.ErrnoException) => cause);
    if (st instanceof Error) throw new ValidationError([{ field: 'audio.path', rule: `cannot read ${JSON.stringify(path)}: ${st.code ?? st.message}` }], { cause: st });
    if (!st.isFile()) throw new ValidationError([{ field: 'audio.path', rule: `${JSON.stringify(path)} is not a regular file` }]);
    return { kind: 'file', path, pin: filePinOf(st) };
  }
  const { kind: _kind, ...ref } = audio;
  return { kind: 'object', ...ref };
}

/**
 * Validates the whole payload with the catalog (audio source, RASR ranges and defaults, output
 * formats) before anything reaches Redis, pins an object source to its current ETag (HEAD), and
 * adds one `transcribe-audio-file` job.
 */
export async function enqueueTranscription(deps: TranscriptionDeps, input: EnqueueTranscriptionInput, signal?: AbortSignal): Promise<EnqueuedTranscription> {
  const engine = input.engine ?? deps.defaultEngine;
  const raw = {
    audio: await audioSource(input.audio),
    request: input.request,
    ...(input.mode === undefined ? {} : { mode: input.mode }),
    engine,
    ...(input.output === undefined
      ? {}
      : { output: { bucket: input.output.bucket, prefix: input.output.prefix, formats: input.output.formats ?? [...TRANSCRIPT_FORMATS] } }),
  };
  let payload = parsePayload('transcribe-audio-file', raw);
  if (payload.audio.kind === 'url') deps.urls.check(new URL(payload.audio.url), 'audio.url');
  const jobId = input.jobId ?? deps.newJobId();
  const issues: ValidationIssue[] = [];
  const idRule = jobIdRule(jobId);
  if (idRule) issues.push({ field: 'jobId', rule: idRule });
  if (issues.length > 0) throw new ValidationError(issues);

  const existing = await deps.queue.getJob(jobId);
  if (existing) {
    const data = existing.data as Partial<JobPayload<'transcribe-audio-file'>>;
    return { jobId, engine: data.engine ?? engine, created: false };
  }

  if (payload.audio.kind === 'object' && payload.audio.etag === undefined) {
    // Pinned so a replaced object fails the job (412) instead of mixing versions across retries.
    const head = await deps.storage.headObject({ bucket: payload.audio.bucket, key: payload.audio.key, versionId: payload.audio.versionId, signal });
    payload = { ...payload, audio: { ...payload.audio, etag: head.body!.etag.replace(/"/g, '') } };
  }
  await deps.queue.add('transcribe-audio-file', payload, jobOptions('transcribe-audio-file', jobId, deps.retentionSeconds));
  deps.logger.info({ jobId, engine, source: payload.audio.kind }, 'transcription enqueued');
  return { jobId, engine, created: true };
}
