import { z } from 'zod';
import type { ValidationIssue } from '../errors/index.js';
import {
  COPY_OBJECT_MAX_BYTES,
  MAX_PART_SIZE,
  OBJECT_KEY_MAX_BYTES,
  PART_NUMBER_MAX,
  PART_NUMBER_MIN,
  RASR_MODES,
  sourceUrlIssues,
} from '../validation/index.js';
import {
  bucketField,
  byteCountField,
  contentMd5Field,
  contentTypeField,
  fileSourceSchema,
  intField,
  keyField,
  metadataField,
  objectRefSchema,
  partNumberField,
  rasrRequestSchema,
  ruleRefinement,
  tokenField,
  uploadSourceSchema,
} from './fields.js';
import { addRuleIssues } from './zodIssues.js';

/** Retry delay policy of a job: exponential from `delayMs`, capped at `maxDelayMs`, with jitter. */
export interface BackoffPolicy {
  type: 'exponential';
  /** Delay before the first retry, in ms; doubles per attempt. */
  delayMs: number;
  /** Longest delay between attempts, in ms. */
  maxDelayMs: number;
  /** Fraction of the delay that is randomised, 0–1: the delay is drawn from `[d*(1-jitter), d]`. */
  jitter: number;
}

/** One catalog entry: how a job's payload is checked and how BullMQ runs it. */
export interface JobDefinition<S extends z.ZodType = z.ZodType> {
  /** Checks and normalises the payload, at enqueue and again in the worker. */
  schema: S;
  /** Total attempts, the first one included. */
  attempts: number;
  backoff: BackoffPolicy;
  /** Longest one attempt may run before the worker aborts it, in ms. */
  timeoutMs: number;
  /** One line for humans (CLI help, dashboards). */
  description: string;
}

const MINUTE = 60_000;

/** Largest output prefix, in UTF-8 bytes, leaving room in the 1024-byte key for the file names. */
export const OUTPUT_PREFIX_MAX_BYTES = OBJECT_KEY_MAX_BYTES - 24;

/** Transcript formats the transcribe job can write. */
export const TRANSCRIPT_FORMATS = ['json', 'srt', 'vtt', 'txt'] as const;
/** One of {@link TRANSCRIPT_FORMATS}. */
export type TranscriptFormat = (typeof TRANSCRIPT_FORMATS)[number];

/** Batch ids name Redis keys and prefix the job ids of their files. */
export const BATCH_ID_RULE = /^(?!\d+$)[A-Za-z0-9._-]{1,100}$/;

/** Problems with a batch id (it names Redis keys and prefixes its files' job ids). */
export function batchIdIssues(id: unknown, field = 'batchId'): ValidationIssue[] {
  return typeof id === 'string' && BATCH_ID_RULE.test(id)
    ? []
    : [{ field, rule: `must be 1 to 100 letters, digits, ".", "_" or "-", and not only digits (got ${JSON.stringify(id)})` }];
}

const batchIdField = z.string().superRefine(ruleRefinement((s: string, field) => batchIdIssues(s, field)));

/**
 * Membership of a batch: the job's record also counts toward the batch's record. `item` is the
 * source as the batch named it (path or URL), kept so `obsq batch retry` can re-enqueue the file.
 */
const batchMemberSchema = z.strictObject({
  id: batchIdField,
  item: z.string().max(8192),
  /** Bytes the file counts for in the batch record when its own record does not say (audio). */
  bytes: byteCountField.optional(),
});

/** Attributes of a multipart upload that the first part initiates on the worker side. */
const initiateSchema = z.strictObject({
  contentType: contentTypeField.optional(),
  metadata: metadataField.optional(),
});

const uploadPartSchema = z
  .strictObject({
    /** The multipart upload; absent when the parts initiate it themselves (`initiate`). */
    uploadId: tokenField.optional(),
    /**
     * Initiate the upload on the worker side: the first part to run calls InitiateMultipartUpload
     * and publishes the upload id under its parent's job id; the others use it.
     */
    initiate: initiateSchema.optional(),
    bucket: bucketField,
    key: keyField,
    partNumber: partNumberField,
    /** First byte of the part in the source. */
    offset: byteCountField,
    /** Bytes in the part; at most 5 GiB. */
    size: intField(0, MAX_PART_SIZE, 'bytes'),
    totalParts: intField(PART_NUMBER_MIN, PART_NUMBER_MAX),
    source: uploadSourceSchema,
    contentMd5: contentMd5Field.optional(),
  })
  .superRefine((p, ctx) => {
    const issues: ValidationIssue[] = [];
    if ((p.uploadId === undefined) === (p.initiate === undefined)) {
      issues.push({ field: 'uploadId', rule: 'exactly one of uploadId and initiate must be given' });
    }
    if (p.partNumber > p.totalParts) {
      issues.push({ field: 'partNumber', rule: `must be at most totalParts ${p.totalParts} (got ${p.partNumber})` });
    }
    const sourceSize = p.source.kind === 'url' ? p.source.size : p.source.pin.size;
    if (p.offset + p.size > sourceSize) {
      issues.push({
        field: 'size',
        rule: `offset + size (${p.offset + p.size}) must not pass the end of ${p.source.kind === 'url' ? 'source.size' : 'source.pin.size'} (${sourceSize})`,
      });
    }
    addRuleIssues(ctx, issues);
  });

const completeMultipartSchema = z
  .strictObject({
    /** `upload` finishes a multipart upload; `copy` finishes a multipart copy (needs `source`). */
    kind: z.enum(['upload', 'copy']),
    /** The multipart upload; absent when its parts initiate it on the worker side. */
    uploadId: tokenField.optional(),
    bucket: bucketField,
    key: keyField,
    totalParts: intField(PART_NUMBER_MIN, PART_NUMBER_MAX),
    /** Expected size of the finished object, in bytes; checked after completion. */
    size: byteCountField,
    source: objectRefSchema.optional(),
    /**
     * The upload's source as pinned at enqueue (`kind: 'upload'` only): checked once more before
     * completing, so a source changed after its last part was read is not completed.
     */
    uploadSource: uploadSourceSchema.optional(),
    contentType: contentTypeField.optional(),
    batch: batchMemberSchema.optional(),
  })
  .superRefine((p, ctx) => {
    if (p.kind === 'copy' && p.source === undefined) addRuleIssues(ctx, [{ field: 'source', rule: 'is required when kind is "copy"' }]);
    if (p.kind === 'copy' && p.uploadId === undefined) addRuleIssues(ctx, [{ field: 'uploadId', rule: 'is required when kind is "copy"' }]);
    if (p.kind === 'upload' && p.source !== undefined) {
      addRuleIssues(ctx, [{ field: 'source', rule: 'is only allowed when kind is "copy"' }]);
    }
    if (p.kind === 'copy' && p.uploadSource !== undefined) {
      addRuleIssues(ctx, [{ field: 'uploadSource', rule: 'is only allowed when kind is "upload"' }]);
    }
  });

/** Largest object `put-object` sends in one request (the OBS/S3 PutObject limit). */
export const PUT_OBJECT_MAX_BYTES = MAX_PART_SIZE;

const putObjectSchema = z
  .strictObject({
    bucket: bucketField,
    key: keyField,
    source: uploadSourceSchema,
    /** Bytes of the source at enqueue; the worker refuses a source of any other size. */
    size: intField(0, PUT_OBJECT_MAX_BYTES, 'bytes'),
    contentType: contentTypeField.optional(),
    metadata: metadataField.optional(),
    batch: batchMemberSchema.optional(),
  })
  .superRefine((p, ctx) => {
    if (p.source.kind === 'url' && p.source.size !== p.size) {
      addRuleIssues(ctx, [{ field: 'size', rule: `must equal source.size ${p.source.size} (got ${p.size})` }]);
    }
  });

const byteRangeSchema = z
  .strictObject({
    /** First byte, inclusive. */
    start: byteCountField,
    /** Last byte, inclusive. */
    end: byteCountField,
  })
  .superRefine((r, ctx) => {
    if (r.end < r.start) addRuleIssues(ctx, [{ field: 'end', rule: `must be at least start ${r.start} (got ${r.end})` }]);
    else if (r.end - r.start + 1 > MAX_PART_SIZE) {
      addRuleIssues(ctx, [{ field: '', rule: `must cover at most ${MAX_PART_SIZE} bytes (got ${r.end - r.start + 1})` }]);
    }
  });

const copyObjectSchema = z
  .strictObject({
    /** `single`: one CopyObject (source at most 5 GiB). `part`: one UploadPartCopy of a multipart copy. */
    mode: z.enum(['single', 'part']),
    source: objectRefSchema,
    target: z.strictObject({ bucket: bucketField, key: keyField }),
    /** `REPLACE` to set `metadata`/`contentType` on the target instead of copying the source's. */
    metadataDirective: z.enum(['COPY', 'REPLACE']).default('COPY'),
    metadata: metadataField.optional(),
    contentType: contentTypeField.optional(),
    /** Copy only if the source ETag still matches. */
    ifMatch: tokenField.optional(),
    uploadId: tokenField.optional(),
    partNumber: partNumberField.optional(),
    range: byteRangeSchema.optional(),
  })
  .superRefine((p, ctx) => {
    const issues: ValidationIssue[] = [];
    const partOnly = ['uploadId', 'partNumber', 'range'] as const;
    if (p.mode === 'part') {
      for (const f of partOnly) if (p[f] === undefined) issues.push({ field: f, rule: 'is required when mode is "part"' });
      for (const f of ['metadata', 'contentType'] as const) {
        if (p[f] !== undefined) issues.push({ field: f, rule: 'is not allowed when mode is "part" (set it when the multipart upload is initiated)' });
      }
    } else {
      for (const f of partOnly) if (p[f] !== undefined) issues.push({ field: f, rule: 'is only allowed when mode is "part"' });
      for (const f of ['metadata', 'contentType'] as const) {
        if (p[f] !== undefined && p.metadataDirective !== 'REPLACE') {
          issues.push({ field: f, rule: 'is only allowed when metadataDirective is "REPLACE" (with "COPY" the source\'s is kept)' });
        }
      }
    }
    addRuleIssues(ctx, issues);
  });

const audioSourceSchema = z.discriminatedUnion('kind', [
  objectRefSchema.extend({ kind: z.literal('object') }),
  z.strictObject({
    kind: z.literal('url'),
    url: z.string().superRefine(ruleRefinement(sourceUrlIssues)),
    etag: tokenField.optional(),
    lastModified: tokenField.optional(),
    size: byteCountField.optional(),
  }),
  fileSourceSchema,
]);

const transcriptOutputSchema = z.strictObject({
  bucket: bucketField,
  /** Key prefix of the transcript objects. */
  prefix: z.string().superRefine(
    ruleRefinement((s: string, field): ValidationIssue[] => {
      const bytes = Buffer.byteLength(s, 'utf8');
      return bytes > OUTPUT_PREFIX_MAX_BYTES ? [{ field, rule: `must be at most ${OUTPUT_PREFIX_MAX_BYTES} bytes in UTF-8 (got ${bytes})` }] : [];
    }),
  ),
  formats: z.array(z.enum(TRANSCRIPT_FORMATS)).superRefine(
    ruleRefinement((list: TranscriptFormat[], field): ValidationIssue[] => {
      if (list.length === 0) return [{ field, rule: `must list at least one of ${TRANSCRIPT_FORMATS.join(', ')}` }];
      const dup = list.filter((f, i) => list.indexOf(f) !== i);
      return dup.length > 0 ? [{ field, rule: `must not repeat a format (got ${[...new Set(dup)].join(', ')} twice)` }] : [];
    }),
  ),
});

const transcribeAudioFileSchema = z.strictObject({
  audio: audioSourceSchema,
  request: rasrRequestSchema,
  mode: z.enum(RASR_MODES).default('continue-stream'),
  /** `sis` streams to Huawei SIS; `local` uses the worker's local engine. */
  engine: z.enum(['sis', 'local']),
  output: transcriptOutputSchema.optional(),
  batch: batchMemberSchema.optional(),
});

/** Schedule ids name Redis keys and BullMQ job schedulers. */
const scheduleIdField = z.string().superRefine(
  ruleRefinement((s: string, field): ValidationIssue[] =>
    /^[A-Za-z0-9._-]{1,100}$/.test(s) ? [] : [{ field, rule: `must be 1 to 100 letters, digits, ".", "_" or "-" (got ${JSON.stringify(s)})` }],
  ),
);

const scanTranscriptionsSchema = z.strictObject({
  scheduleId: scheduleIdField,
  bucket: bucketField,
  /** Key prefix listed on every tick; empty lists the whole bucket. */
  prefix: z.string().superRefine(
    ruleRefinement((s: string, field): ValidationIssue[] => {
      const bytes = Buffer.byteLength(s, 'utf8');
      return bytes > OBJECT_KEY_MAX_BYTES ? [{ field, rule: `must be at most ${OBJECT_KEY_MAX_BYTES} bytes in UTF-8 (got ${bytes})` }] : [];
    }),
  ),
  /** Key endings (case-insensitive, e.g. `.wav`) of the objects to transcribe. */
  suffixes: z.array(z.string()).superRefine(
    ruleRefinement((list: string[], field): ValidationIssue[] => {
      if (list.length === 0) return [{ field, rule: 'must list at least one key suffix, e.g. .wav' }];
      const bad = list.filter((x) => x.length === 0 || x.length > 32 || /[\s/]/.test(x));
      return bad.length > 0 ? [{ field, rule: `must be 1 to 32 characters without spaces or "/" (got ${JSON.stringify(bad[0])})` }] : [];
    }),
  ),
  request: rasrRequestSchema,
  mode: z.enum(RASR_MODES).default('continue-stream'),
  engine: z.enum(['sis', 'local']),
  /** Each object's transcripts go under `output.prefix` plus the object's key path below `prefix`. */
  output: transcriptOutputSchema,
  /**
   * Transcriptions tried per object version before it is marked `given-up` (a try is one
   * transcription job with all its own attempts). @defaultValue 5
   */
  maxTries: z.number().int().min(1).max(100).default(5),
  /**
   * Delay before re-enqueueing an object whose transcription failed, in ms; doubles per failed
   * try (at most 6 h). @defaultValue 60000
   */
  retryDelayMs: z.number().int().min(1_000).max(24 * 60 * MINUTE).default(60_000),
});

const abortStaleUploadsSchema = z.strictObject({
  /** Id of the schedule that added the job (also the gauge's `schedule` label); absent for a one-off run. */
  scheduleId: scheduleIdField.optional(),
  bucket: bucketField,
  /** Key prefix whose open multipart uploads are listed; empty lists the whole bucket. */
  prefix: z.string().superRefine(
    ruleRefinement((s: string, field): ValidationIssue[] => {
      const bytes = Buffer.byteLength(s, 'utf8');
      return bytes > OBJECT_KEY_MAX_BYTES ? [{ field, rule: `must be at most ${OBJECT_KEY_MAX_BYTES} bytes in UTF-8 (got ${bytes})` }] : [];
    }),
  ),
  /** Uploads initiated at least this long ago are aborted, in seconds (at least 60: younger ones are likely running). */
  olderThanSeconds: intField(60, 10 * 365 * 24 * 3600, 'seconds'),
});

/**
 * The one job catalog: every job name with its payload schema and BullMQ policy. Payloads never carry
 * secrets; credentials come from the worker's configuration.
 */
export const jobCatalog = {
  'put-object': {
    schema: putObjectSchema,
    attempts: 10,
    backoff: { type: 'exponential', delayMs: 1_000, maxDelayMs: 60_000, jitter: 0.5 },
    timeoutMs: 15 * MINUTE,
    description: 'Upload a small file or http(s) object in one PutObject with Content-MD5.',
  },
  'upload-part': {
    schema: uploadPartSchema,
    attempts: 10,
    backoff: { type: 'exponential', delayMs: 1_000, maxDelayMs: 60_000, jitter: 0.5 },
    timeoutMs: 15 * MINUTE,
    description: 'Upload one part of a multipart upload from a local file or an http(s) source.',
  },
  'complete-multipart': {
    schema: completeMultipartSchema,
    attempts: 8,
    backoff: { type: 'exponential', delayMs: 1_000, maxDelayMs: 60_000, jitter: 0.5 },
    timeoutMs: 30 * MINUTE,
    description: 'Complete a multipart upload or copy once every part is done, and check the result.',
  },
  'copy-object': {
    schema: copyObjectSchema,
    attempts: 8,
    backoff: { type: 'exponential', delayMs: 1_000, maxDelayMs: 60_000, jitter: 0.5 },
    timeoutMs: 30 * MINUTE,
    description: `Copy an object server-side: one CopyObject up to ${COPY_OBJECT_MAX_BYTES} bytes, or one part of a multipart copy.`,
  },
  'transcribe-audio-file': {
    schema: transcribeAudioFileSchema,
    attempts: 5,
    // SIS asks clients to back off a few seconds when it is over its concurrency limit.
    backoff: { type: 'exponential', delayMs: 5_000, maxDelayMs: 5 * MINUTE, jitter: 0.5 },
    timeoutMs: 120 * MINUTE,
    description: 'Stream an audio file to speech recognition and store the transcript.',
  },
  'scan-transcriptions': {
    schema: scanTranscriptionsSchema,
    attempts: 3,
    backoff: { type: 'exponential', delayMs: 1_000, maxDelayMs: 30_000, jitter: 0.5 },
    timeoutMs: 5 * MINUTE,
    description: 'One tick of a transcription schedule: list a prefix and enqueue a transcription for every new or changed object.',
  },
  'abort-stale-uploads': {
    schema: abortStaleUploadsSchema,
    attempts: 3,
    backoff: { type: 'exponential', delayMs: 5_000, maxDelayMs: 60_000, jitter: 0.5 },
    timeoutMs: 15 * MINUTE,
    description: 'List the multipart uploads open under a prefix and abort those older than a given age (orphans cost storage).',
  },
} satisfies Record<string, JobDefinition>;

/** Type of the catalog; the worker's handler map is `{ [K in JobName]: Handler<K> }`. */
export type JobCatalog = typeof jobCatalog;
/** Every job name; each has its own BullMQ queue of the same name. */
export type JobName = keyof JobCatalog;
/** A checked payload, defaults filled in (what handlers receive). */
export type JobPayload<N extends JobName> = z.output<JobCatalog[N]['schema']>;
/** A payload as producers may write it (defaults optional, RASR booleans allowed). */
export type JobInput<N extends JobName> = z.input<JobCatalog[N]['schema']>;

/** Payload of `put-object`. */
export type PutObjectPayload = JobPayload<'put-object'>;
/** Payload of `upload-part`. */
export type UploadPartPayload = JobPayload<'upload-part'>;
/** Payload of `complete-multipart`. */
export type CompleteMultipartPayload = JobPayload<'complete-multipart'>;
/** Payload of `copy-object`. */
export type CopyObjectPayload = JobPayload<'copy-object'>;
/** Payload of `transcribe-audio-file`. */
export type TranscribeAudioFilePayload = JobPayload<'transcribe-audio-file'>;
/** Payload of `scan-transcriptions` (the job a transcription schedule adds on every tick). */
export type ScanTranscriptionsPayload = JobPayload<'scan-transcriptions'>;
/** Payload of `abort-stale-uploads` (one run of `obsq uploads abort` as a job, e.g. from a schedule). */
export type AbortStaleUploadsPayload = JobPayload<'abort-stale-uploads'>;
/** A local-file source. */
export type FileSource = z.output<typeof fileSourceSchema>;
/** An http(s) source. */
export type UrlSource = Extract<UploadPartPayload['source'], { kind: 'url' }>;
/** An existing object, optionally pinned. */
export type ObjectRef = z.output<typeof objectRefSchema>;
