import { randomUUID } from 'node:crypto';
import { FlowProducer, Queue } from 'bullmq';
import type { Cluster, Redis } from 'ioredis';
import type { Logger } from 'pino';
import { jobCatalog, ObsqError, redisReady, ResultStore, type JobName, type StoredResult } from '@obsq/shared';
import { type ObsClient } from '@obsq/storage';
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
  private readonly queues: Map<JobName, Queue>;
  private closing: Promise<void> | undefined;

  constructor(options: ProducerOptions) {
    const given = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) as ProducerOptions;
    this.opts = { copyThreshold: 5 * 1024 ** 3, retentionSeconds: 7 * 24 * 3600, streamMaxLen: 100_000, transcriber: 'sis', ...given };
    if (!Number.isSafeInteger(this.opts.minPartSize) || this.opts.minPartSize < 1) throw new TypeError('minPartSize must be a positive integer');
    if (this.opts.transcriber !== 'sis' && this.opts.transcriber !== 'local') throw new TypeError('transcriber must be "sis" or "local"');
    const connection = this.opts.redis;
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
   * Uploads a file or URL as a multipart upload run by the workers: one `upload-part` job per part
   * under a `complete-multipart` parent whose record is the upload's GetResult.
   */
  async enqueueUpload(input: EnqueueUploadInput, signal?: AbortSignal): Promise<EnqueuedUpload> {
    this.assertOpen();
    return enqueueUpload(
      {
        flows: this.flows,
        completeQueue: this.queue('complete-multipart'),
        storage: this.opts.storage,
        minPartSize: this.opts.minPartSize,
        retentionSeconds: this.opts.retentionSeconds,
        logger: this.opts.logger,
        newJobId: randomUUID,
      },
      input,
      signal,
    );
  }

  /**
   * Copies an object server-side: one `copy-object` job up to `copyThreshold`, else a multipart copy
   * (UploadPartCopy parts pinned to the source ETag) completed by a `complete-multipart` parent.
   * The record body follows the OBS SDK's CopyObjectResponse either way.
   */
  async enqueueCopy(input: EnqueueCopyInput, signal?: AbortSignal): Promise<EnqueuedCopy> {
    this.assertOpen();
    return enqueueCopy(
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
    );
  }

  /**
   * Transcribes an audio object, URL or worker-local file with SIS or the local engine: one
   * `transcribe-audio-file` job whose record body holds the transcript (`text`, SIS `segments`) and
   * the transcript objects written under `output`.
   */
  async enqueueTranscription(input: EnqueueTranscriptionInput, signal?: AbortSignal): Promise<EnqueuedTranscription> {
    this.assertOpen();
    return enqueueTranscription(
      {
        queue: this.queue('transcribe-audio-file'),
        storage: this.opts.storage,
        defaultEngine: this.opts.transcriber,
        retentionSeconds: this.opts.retentionSeconds,
        logger: this.opts.logger,
        newJobId: randomUUID,
      },
      input,
      signal,
    );
  }

  private scheduleDeps(): ScheduleDeps {
    return {
      queue: this.queue('scan-transcriptions'),
      redis: this.opts.redis,
      prefix: this.opts.prefix,
      defaultEngine: this.opts.transcriber,
      retentionSeconds: this.opts.retentionSeconds,
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
    this.assertOpen();
    return scheduleTranscriptions(this.scheduleDeps(), input);
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
    this.assertOpen();
    return removeTranscriptionSchedule(this.scheduleDeps(), id, options);
  }

  /** The record of a finished job, or undefined while it runs. */
  getResult<Body = unknown>(jobId: string): Promise<StoredResult<Body> | undefined> {
    return this.results.get<Body>(jobId);
  }

  /**
   * Waits until the job's record exists. Throws `OBSQ_TIMEOUT` after `timeoutMs`.
   * Uses a connection of its own for the blocking stream read.
   */
  async waitForResult<Body = unknown>(jobId: string, { timeoutMs = 600_000, signal }: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<StoredResult<Body>> {
    this.assertOpen();
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
      if (errors.length > 0) throw new AggregateError(errors, 'producer close failed');
    })();
    return this.closing;
  }
}
