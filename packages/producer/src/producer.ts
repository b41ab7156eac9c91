import { randomUUID } from 'node:crypto';
import { FlowProducer, Queue } from 'bullmq';
import type { Cluster, Redis } from 'ioredis';
import type { Logger } from 'pino';
import {
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
  type InputRule,
  type JobName,
  type StoredResult,
  type UrlPolicy,
} from '@obsq/shared';
import { type ObsClient } from '@obsq/storage';
import { enqueueCopy, type EnqueueCopyInput, type EnqueuedCopy } from './copies/enqueueCopy.js';
import { enqueueUpload, type EnqueuedUpload, type EnqueueUploadInput } from './uploads/enqueueUpload.js';
import {
  enqueueTranscription,
  listTranscriptionSchedules,
  removeTranscriptionSchedule,
  scheduleTranscriptions,
  type EnqueuedTranscription,
  type EnqueueTranscriptionInput,
  type ScheduleDeps,
  type TranscriptionEngine,
  type TranscriptionSchedule,
  type TranscriptionScheduleInput,
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

  /** Removes a schedule (false when it did not exist); `forget` also drops its done-marks. */
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

  /** Progress of an upload: parts finished out of all parts. */
  async uploadProgress(jobId: string): Promise<{ done: number; total: number } | undefined> {
    checkInput(jobIdLookupRule, jobId, 'jobId');
    const job = await this.queue('complete-multipart').getJob(jobId);
    if (!job) return undefined;
    const counts = await job.getDependenciesCount();
    const done = (counts.processed ?? 0) + (counts.failed ?? 0) + (counts.ignored ?? 0);
    return { done, total: done + (counts.unprocessed ?? 0) };
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
