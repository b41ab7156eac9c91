import { randomUUID } from 'node:crypto';
import { FlowProducer, Queue } from 'bullmq';
import type { Cluster, Redis } from 'ioredis';
import type { Logger } from 'pino';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  BatchStore,
  bool,
  checkInput,
  ConfigError,
  copyInputRule,
  defaultUrlPolicy,
  jobCatalog,
  jobIdLookupRule,
  ObsqError,
  objectOf,
  optional,
  redisReady,
  required,
  ResultStore,
  SCHEDULE_MIN_INTERVAL_MS_DEFAULT,
  scheduleInputRule,
  signalRule,
  text,
  transcriptionInputRule,
  uploadInputRule,
  UrlClient,
  waitOptionsRule,
  type BatchRecordBody,
  type BatchStatus,
  type InputRule,
  type JobName,
  type StoredResult,
  type UrlPolicy,
} from '@obsq/shared';
import { abortUploads, listOpenUploads, type AbortOutcome, type ObsClient, type OpenUploadsScan } from '@obsq/storage';
import { batchOperations } from './batches/batchOperations.js';
import { enqueueBatch, type EnqueueBatchInput, type EnqueuedBatch } from './batches/enqueueBatch.js';
import { enqueueTranscriptionBatch, type TranscriptionBatchInput } from './batches/transcribeBatch.js';
import {
  cancelJob,
  listAbortStaleUploadsSchedules,
  listJobs,
  readStatus,
  recentRecords,
  retryFailed,
  retryJob,
  scheduleAbortStaleUploads,
  showJob,
  type AbortStaleUploadsSchedule,
  type AbortStaleUploadsScheduleInput,
  type AdminDeps,
  type CancelOutcome,
  type JobDetails,
  type JobSummary,
  type ListJobsOptions,
  type ObsqStatus,
  type OpenBatchSummary,
  type RecentRecordsOptions,
  type RetryFailedOptions,
  type RetryFailedOutcome,
  type RetryOutcome,
} from './admin/index.js';
import { enqueueCopy, type EnqueueCopyInput, type EnqueuedCopy } from './copies/enqueueCopy.js';
import { enqueueUpload, type EnqueuedUpload, type EnqueueUploadInput } from './uploads/enqueueUpload.js';
import {
  enqueueTranscription,
  listTranscriptionSchedules,
  removeTranscriptionSchedule,
  scheduleTranscriptions,
  transcriptionScheduleStatus,
  type EnqueuedTranscription,
  type EnqueueTranscriptionInput,
  type ScheduleDeps,
  type TranscriptionEngine,
  type TranscriptionSchedule,
  type TranscriptionScheduleInput,
  type TranscriptionScheduleStatus,
} from './transcriptions/index.js';

/** Options of {@link Producer}. */
export interface ProducerOptions {
  /** Fail-fast ioredis connection (`enableOfflineQueue: false`), owned by the caller. */
  redis: Redis | Cluster;
  /** Hash-tagged prefix shared with the workers, e.g. `{obsq}`. */
  prefix: string;
  /** Object-storage client (HeadBucket, initiate, abort). Owned by the caller. */
  storage: ObsClient;
  /** Smallest part the endpoint accepts, in bytes. */
  minPartSize: number;
  /** Largest source copied with one CopyObject, in bytes. @defaultValue 5 GiB */
  copyThreshold?: number;
  /** How long finished jobs and records are kept, in seconds. @defaultValue 604800 */
  retentionSeconds?: number;
  /** Approximate length cap of the results stream. @defaultValue 100000 */
  streamMaxLen?: number;
  /** Engine of transcriptions that name none (`OBSQ_TRANSCRIBER`). @defaultValue 'sis' */
  transcriber?: TranscriptionEngine;
  /**
   * Where URL sources may be probed (`OBSQ_URL_ALLOW`, `OBSQ_URL_DENY`, `OBSQ_URL_TIMEOUT_MS`).
   * @defaultValue public addresses only, 30 s timeouts (`defaultUrlPolicy()`)
   */
  urlPolicy?: UrlPolicy;
  /**
   * Shortest interval between two ticks of a transcription schedule, in ms
   * (`OBSQ_SCHEDULE_MIN_INTERVAL`). @defaultValue 60000
   */
  scheduleMinIntervalMs?: number;
  logger: Logger;
}

/**
 * Enqueues obsq jobs and reads their records. Every input is validated before anything reaches
 * Redis; the workers validate again.
 */
export class Producer {
  readonly results: ResultStore;
  readonly batches: BatchStore;
  private readonly opts: Required<ProducerOptions>;
  private readonly flows: FlowProducer;
  private readonly urls: UrlClient;
  private readonly queues: Map<JobName, Queue>;
  private closing: Promise<void> | undefined;

  constructor(options: ProducerOptions) {
    const given = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) as ProducerOptions;
    this.opts = {
      copyThreshold: 5 * 1024 ** 3,
      retentionSeconds: 7 * 24 * 3600,
      streamMaxLen: 100_000,
      transcriber: 'sis',
      urlPolicy: defaultUrlPolicy(),
      scheduleMinIntervalMs: SCHEDULE_MIN_INTERVAL_MS_DEFAULT,
      ...given,
    };
    if (!Number.isSafeInteger(this.opts.minPartSize) || this.opts.minPartSize < 1) throw new ConfigError('minPartSize must be a positive integer');
    if (this.opts.transcriber !== 'sis' && this.opts.transcriber !== 'local') throw new ConfigError('transcriber must be "sis" or "local"');
    const connection = this.opts.redis;
    this.urls = new UrlClient(this.opts.urlPolicy);
    this.flows = new FlowProducer({ connection, prefix: this.opts.prefix });
    this.flows.on('error', (err) => this.opts.logger.error({ err }, 'flow producer error'));
    this.queues = new Map(
      (Object.keys(jobCatalog) as JobName[]).map((name) => {
        const q = new Queue(name, { connection, prefix: this.opts.prefix });
        q.on('error', (err) => this.opts.logger.error({ err, queue: name }, 'queue error'));
        return [name, q];
      }),
    );
    this.results = new ResultStore({
      redis: connection,
      prefix: this.opts.prefix,
      retentionSeconds: this.opts.retentionSeconds,
      streamMaxLen: this.opts.streamMaxLen,
    });
    this.batches = new BatchStore({ redis: connection, prefix: this.opts.prefix, results: this.results, retentionSeconds: this.opts.retentionSeconds });
  }

  /** The BullMQ queue of a job name (for counts, progress, admin). */
  queue(name: JobName): Queue {
    return this.queues.get(name)!;
  }

  private assertOpen(): void {
    if (this.closing) throw new ObsqError('OBSQ_CLOSED', 'producer is closed');
  }

  /**
   * Runs one API call after checking its input with the contract's rule, so callers get an
   * `ObsqError` naming field and rule, never a JavaScript TypeError. Should a check ever miss, the
   * TypeError is still wrapped (`OBSQ_INTERNAL`, cause chained) rather than leaked.
   */
  private async api<T>(method: string, checks: Array<[InputRule, unknown, string]>, fn: () => Promise<T>): Promise<T> {
    this.assertOpen();
    for (const [rule, value, field] of checks) checkInput(rule, value, field);
    try {
      return await fn();
    } catch (err) {
      if (err instanceof TypeError || err instanceof RangeError || err instanceof SyntaxError) {
        throw new ObsqError('OBSQ_INTERNAL', `${method}: input not caught by validation: ${err.message}`, { cause: err, permanent: true });
      }
      throw err;
    }
  }

  /**
   * Uploads a file or URL as a multipart upload run by the workers: one `upload-part` job per part
   * under a `complete-multipart` parent whose record is the upload's GetResult.
   */
  async enqueueUpload(input: EnqueueUploadInput, signal?: AbortSignal): Promise<EnqueuedUpload> {
    return this.api('enqueueUpload', [[uploadInputRule, input, ''], [signalRule, signal, 'signal']], () => enqueueUpload(
      {
        flows: this.flows,
        completeQueue: this.queue('complete-multipart'),
        storage: this.opts.storage,
        urls: this.urls,
        minPartSize: this.opts.minPartSize,
        retentionSeconds: this.opts.retentionSeconds,
        logger: this.opts.logger,
        newJobId: randomUUID,
      },
      input,
      signal,
    ));
  }

  /**
   * Copies an object server-side: one `copy-object` job up to `copyThreshold`, else a multipart copy
   * (UploadPartCopy parts pinned to the source ETag) completed by a `complete-multipart` parent.
   * The record body follows the OBS SDK's CopyObjectResponse either way.
   */
  async enqueueCopy(input: EnqueueCopyInput, signal?: AbortSignal): Promise<EnqueuedCopy> {
    return this.api('enqueueCopy', [[copyInputRule, input, ''], [signalRule, signal, 'signal']], () => enqueueCopy(
      {
        flows: this.flows,
        copyQueue: this.queue('copy-object'),
        completeQueue: this.queue('complete-multipart'),
        storage: this.opts.storage,
        minPartSize: this.opts.minPartSize,
        copyThreshold: this.opts.copyThreshold,
        retentionSeconds: this.opts.retentionSeconds,
        logger: this.opts.logger,
        newJobId: randomUUID,
      },
      input,
      signal,
    ));
  }

  /**
   * Transcribes an audio object, URL or worker-local file with SIS or the local engine: one
   * `transcribe-audio-file` job whose record body holds the transcript (`text`, SIS `segments`) and
   * the transcript objects written under `output`.
   */
  async enqueueTranscription(input: EnqueueTranscriptionInput, signal?: AbortSignal): Promise<EnqueuedTranscription> {
    return this.api('enqueueTranscription', [[transcriptionInputRule, input, ''], [signalRule, signal, 'signal']], () => enqueueTranscription(
      {
        queue: this.queue('transcribe-audio-file'),
        storage: this.opts.storage,
        urls: this.urls,
        defaultEngine: this.opts.transcriber,
        retentionSeconds: this.opts.retentionSeconds,
        logger: this.opts.logger,
        newJobId: randomUUID,
      },
      input,
      signal,
    ));
  }

  private scheduleDeps(): ScheduleDeps {
    return {
      queue: this.queue('scan-transcriptions'),
      redis: this.opts.redis,
      prefix: this.opts.prefix,
      defaultEngine: this.opts.transcriber,
      retentionSeconds: this.opts.retentionSeconds,
      minIntervalMs: this.opts.scheduleMinIntervalMs,
      logger: this.opts.logger,
    };
  }

  /**
   * Creates or replaces a cron schedule (a BullMQ job scheduler): each tick lists
   * `bucket/prefix` and enqueues a transcription for every matching object not yet done,
   * deduplicated by bucket + key + ETag, so a changed object is transcribed again and an
   * unchanged one never twice.
   */
  async scheduleTranscriptions(input: TranscriptionScheduleInput): Promise<TranscriptionSchedule> {
    return this.api('scheduleTranscriptions', [[scheduleInputRule, input, '']], () => scheduleTranscriptions(this.scheduleDeps(), input));
  }

  /** Every transcription schedule, sorted by id. */
  async listTranscriptionSchedules(): Promise<TranscriptionSchedule[]> {
    this.assertOpen();
    return listTranscriptionSchedules(this.scheduleDeps());
  }

  /**
   * A schedule's last and next tick, objects by status (done, pending, failed, given-up) and its
   * latest failures; `undefined` when no schedule has that id.
   */
  async transcriptionScheduleStatus(id: string): Promise<TranscriptionScheduleStatus | undefined> {
    this.assertOpen();
    return transcriptionScheduleStatus(this.scheduleDeps(), id);
  }

  /** Removes a schedule (false when it did not exist); `forget` also drops its per-object states. */
  async removeTranscriptionSchedule(id: string, options?: { forget?: boolean }): Promise<boolean> {
    return this.api(
      'removeTranscriptionSchedule',
      [
        [required(text(100)), id, 'id'],
        [optional(objectOf({ forget: optional(bool) })), options, 'options'],
      ],
      () => removeTranscriptionSchedule(this.scheduleDeps(), id, options),
    );
  }

  /** The record of a finished job, or undefined while it runs. */
  getResult<Body = unknown>(jobId: string): Promise<StoredResult<Body> | undefined> {
    return this.api('getResult', [[jobIdLookupRule, jobId, 'jobId']], () => this.results.get<Body>(jobId));
  }

  /**
   * Waits until the job's record exists. Throws `OBSQ_TIMEOUT` after `timeoutMs`.
   * Uses a connection of its own for the blocking stream read.
   */
  async waitForResult<Body = unknown>(jobId: string, options: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<StoredResult<Body>> {
    return this.api(
      'waitForResult',
      [
        [jobIdLookupRule, jobId, 'jobId'],
        [waitOptionsRule, options, 'options'],
      ],
      () => this.waitForRecord<Body>(jobId, options.timeoutMs ?? 600_000, options.signal),
    );
  }

  private async waitForRecord<Body>(jobId: string, timeoutMs: number, signal: AbortSignal | undefined): Promise<StoredResult<Body>> {
    const blocking = this.opts.redis.duplicate();
    blocking.on('error', (err) => this.opts.logger.debug({ err }, 'result wait connection error'));
    try {
      await redisReady(blocking);
      const rec = await this.results.waitFor<Body>(jobId, blocking, { timeoutMs, signal });
      if (!rec) throw new ObsqError('OBSQ_TIMEOUT', `no result for job ${jobId} after ${timeoutMs} ms`);
      return rec;
    } finally {
      blocking.disconnect();
    }
  }

  /**
   * Uploads many files as one batch: directories, files, URLs and manifests; small files in one
   * PutObject each, large ones as multipart uploads; one record per file and one for the batch.
   */
  async enqueueBatch(input: EnqueueBatchInput, signal?: AbortSignal): Promise<EnqueuedBatch> {
    this.assertOpen();
    return enqueueBatch(
      {
        flows: this.flows,
        putQueue: this.queue('put-object'),
        storage: this.opts.storage,
        batches: this.batches,
        urls: this.urls,
        minPartSize: this.opts.minPartSize,
        retentionSeconds: this.opts.retentionSeconds,
        logger: this.opts.logger,
        newBatchId: () => `b-${new Date().toISOString().slice(0, 10)}-${randomUUID().slice(0, 8)}`,
      },
      input,
      signal,
    );
  }

  /**
   * Transcribes every audio object under a prefix (or file under a directory) once, as a batch with
   * the same record as upload batches; `skipExisting` skips audio whose transcript is current.
   */
  async enqueueTranscriptionBatch(input: TranscriptionBatchInput, signal?: AbortSignal): Promise<EnqueuedBatch> {
    this.assertOpen();
    return enqueueTranscriptionBatch(
      {
        queue: this.queue('transcribe-audio-file'),
        storage: this.opts.storage,
        batches: this.batches,
        defaultEngine: this.opts.transcriber,
        retentionSeconds: this.opts.retentionSeconds,
        logger: this.opts.logger,
        newBatchId: () => `t-${new Date().toISOString().slice(0, 10)}-${randomUUID().slice(0, 8)}`,
      },
      input,
      signal,
    );
  }

  /** Live counters of a batch (and its record once written); undefined when unknown. */
  async batchStatus(batchId: string): Promise<BatchStatus | undefined> {
    const s = await this.batches.status(batchId);
    // A batch whose last record was written by a process that died before the batch record: write it now.
    if (s && !s.record && BatchStore.isComplete(s)) {
      const record = await this.batches.finalize(batchId);
      return record ? { ...s, record } : s;
    }
    return s;
  }

  /**
   * Waits for a batch's record, calling `onProgress` with its counters (about every `pollMs`).
   * Throws `OBSQ_TIMEOUT` after `timeoutMs`, `OBSQ_VALIDATION` for an unknown batch.
   */
  async waitForBatch(
    batchId: string,
    { timeoutMs = 24 * 3600_000, pollMs = 500, signal, onProgress }: { timeoutMs?: number; pollMs?: number; signal?: AbortSignal; onProgress?: (s: BatchStatus) => void } = {},
  ): Promise<StoredResult<BatchRecordBody>> {
    this.assertOpen();
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const s = await this.batchStatus(batchId);
      if (!s) throw new ObsqError('OBSQ_VALIDATION', `batchId: no batch ${JSON.stringify(batchId)} (unknown, or its record expired)`, { permanent: true });
      onProgress?.(s);
      if (s.record) return s.record;
      if (Date.now() >= deadline) throw new ObsqError('OBSQ_TIMEOUT', `batch ${batchId} not finished after ${timeoutMs} ms (${s.done} of ${s.members} files done)`);
      await sleep(Math.min(pollMs, Math.max(1, deadline - Date.now())), undefined, { signal });
    }
  }

  /**
   * Re-enqueues the files of a batch that failed (not the items refused at enqueue: fix those and
   * submit them again) as a new batch `<batchId>.r<N>`; resolves with it. `options` are applied as
   * in the original submission (content type, metadata, sizes).
   */
  async retryBatch(
    batchId: string,
    options: Omit<EnqueueBatchInput, 'bucket' | 'prefix' | 'sources' | 'manifest' | 'items' | 'batchId'> = {},
    signal?: AbortSignal,
  ): Promise<EnqueuedBatch> {
    this.assertOpen();
    const s = await this.batchStatus(batchId);
    if (!s) throw new ObsqError('OBSQ_VALIDATION', `batchId: no batch ${JSON.stringify(batchId)} (unknown, or its record expired)`, { permanent: true });
    if (!s.record) throw new ObsqError('OBSQ_VALIDATION', `batchId: batch ${batchId} is still running (${s.done} of ${s.members} files done); retry it once it has finished`, { permanent: true });
    const failed = await this.batches.failedMembers(batchId);
    let n = 1;
    while (await this.batches.status(`${batchId}.r${n}`)) n++;
    return this.enqueueBatch(
      { ...options, bucket: s.bucket, prefix: s.prefix, items: failed.map((f) => ({ source: f.source, key: f.key })), batchId: `${batchId}.r${n}` },
      signal,
    );
  }

  /** Progress of an upload: parts finished out of all parts. */
  async uploadProgress(jobId: string): Promise<{ done: number; total: number } | undefined> {
    checkInput(jobIdLookupRule, jobId, 'jobId');
    const job = await this.queue('complete-multipart').getJob(jobId);
    if (!job) return undefined;
    const counts = await job.getDependenciesCount();
    const done = (counts.processed ?? 0) + (counts.failed ?? 0) + (counts.ignored ?? 0);
    return { done, total: done + (counts.unprocessed ?? 0) };
  }

  // ---------------------------------------------------------------- operating (obsq status, jobs, retry, cancel, uploads, presign)

  private adminDeps(): AdminDeps {
    return {
      queue: (name) => this.queue(name),
      results: this.results,
      redis: this.opts.redis,
      prefix: this.opts.prefix,
      storage: this.opts.storage,
      retentionSeconds: this.opts.retentionSeconds,
      logger: this.opts.logger,
      enqueueUpload: (input) => this.enqueueUpload(input),
      enqueueCopy: (input) => this.enqueueCopy(input),
      batches: batchOperations(this.batches, this.results),
    };
  }

  /** Per queue counts, oldest waiting age and workers; failures of the last hour by code; open batches. */
  status(options?: { failureWindowMs?: number }): Promise<ObsqStatus> {
    this.assertOpen();
    return readStatus(this.adminDeps(), options);
  }

  /** Batches not finished yet, newest first. */
  openBatches(): Promise<OpenBatchSummary[]> {
    this.assertOpen();
    return batchOperations(this.batches, this.results).openBatches();
  }

  /** The newest GetResult records from the results stream, optionally failures or one queue only. */
  recentRecords(options?: RecentRecordsOptions): Promise<StoredResult[]> {
    this.assertOpen();
    return recentRecords(this.adminDeps(), options);
  }

  /** Jobs of one or every queue and state, newest first. */
  listJobs(options?: ListJobsOptions): Promise<JobSummary[]> {
    this.assertOpen();
    return listJobs(this.adminDeps(), options);
  }

  /** One job with its payload (secrets blanked), attempts and record; undefined when unknown. */
  showJob(jobId: string): Promise<JobDetails | undefined> {
    this.assertOpen();
    return showJob(this.adminDeps(), jobId);
  }

  /** Runs a failed job again as `<id>-retry-N` (a failed part: its whole upload). Undefined when unknown. */
  retry(jobId: string): Promise<RetryOutcome | undefined> {
    this.assertOpen();
    return retryJob(this.adminDeps(), jobId);
  }

  /** Retries every failed, not cancelled, not yet retried job (of one queue, within a window). */
  retryFailed(options?: RetryFailedOptions): Promise<RetryFailedOutcome> {
    this.assertOpen();
    return retryFailed(this.adminDeps(), options);
  }

  /** Cancels a job (its parts, its multipart upload) or a batch; undefined when the id is neither. */
  cancel(id: string, reason?: string): Promise<CancelOutcome | undefined> {
    this.assertOpen();
    return cancelJob(this.adminDeps(), id, reason);
  }

  /** Multipart uploads open under `bucket/prefix`, and those at least `olderThanMs` old. */
  listOpenUploads(p: { bucket: string; prefix?: string; olderThanMs: number }): Promise<OpenUploadsScan> {
    this.assertOpen();
    return listOpenUploads(this.opts.storage, p);
  }

  /** Aborts the uploads under `bucket/prefix` at least `olderThanMs` old; one outcome per upload. */
  async abortStaleUploads(p: { bucket: string; prefix?: string; olderThanMs: number }): Promise<{ scan: OpenUploadsScan; outcomes: AbortOutcome[] }> {
    this.assertOpen();
    const scan = await listOpenUploads(this.opts.storage, p);
    return { scan, outcomes: await abortUploads(this.opts.storage, scan.stale) };
  }

  /** Creates or replaces a cron schedule that aborts stale multipart uploads (an `abort-stale-uploads` job per tick). */
  scheduleAbortStaleUploads(input: AbortStaleUploadsScheduleInput): Promise<AbortStaleUploadsSchedule> {
    this.assertOpen();
    return scheduleAbortStaleUploads({ queue: this.queue('abort-stale-uploads'), retentionSeconds: this.opts.retentionSeconds, logger: this.opts.logger, minIntervalMs: this.opts.scheduleMinIntervalMs }, input);
  }

  /** Every abort-stale-uploads schedule, sorted by id. */
  listAbortStaleUploadsSchedules(): Promise<AbortStaleUploadsSchedule[]> {
    this.assertOpen();
    return listAbortStaleUploadsSchedules({ queue: this.queue('abort-stale-uploads') });
  }

  /** Removes an abort-stale-uploads schedule; false when none had this id. */
  removeAbortStaleUploadsSchedule(id: string): Promise<boolean> {
    this.assertOpen();
    return this.queue('abort-stale-uploads').removeJobScheduler(id);
  }

  /** Closes queues and the flow producer (not the Redis connection or storage client it was given). Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      const errors: unknown[] = [];
      for (const q of this.queues.values()) await q.close().catch((e: unknown) => errors.push(e));
      await this.flows.close().catch((e: unknown) => errors.push(e));
      await this.urls.close().catch((e: unknown) => errors.push(e));
      if (errors.length > 0) throw new AggregateError(errors, 'producer close failed');
    })();
    return this.closing;
  }
}
