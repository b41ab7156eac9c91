import type { Job, Queue } from 'bullmq';
import type { Cluster, Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { GetResult, JobName, JobPayload, ResultStore, SisConfig, SourceHardlinkPolicy, UrlClient } from '@obsq/shared';
import type { EnginePool } from '@obsq/speech';
import type { ObsClient } from '@obsq/storage';
import type { WorkerMetrics } from '../metrics/index.js';

/** Everything a job handler may use. Handlers never touch BullMQ internals beyond `job`. */
export interface JobContext<N extends JobName> {
  /** The BullMQ job (for progress, children values and the lock token). */
  job: Job;
  /** Lock token of this attempt (needed by some BullMQ calls). */
  token: string | undefined;
  /** The payload, validated again in the worker: Redis is not trusted. */
  data: JobPayload<N>;
  /** 1-based attempt number. */
  attempt: number;
  /** Attempts allowed for this job (from the catalog, stored in the job's options). */
  attempts: number;
  /** Fires on the job's timeout and on a forced shutdown; pass it to every I/O call. */
  signal: AbortSignal;
  /** Child logger bound to queue, job id and attempt. */
  logger: Logger;
  /** Object-storage client configured from the worker's config (credentials never in payloads). */
  storage: ObsClient;
  /** Result records (read children's records, e.g. a failed part's error). */
  results: ResultStore;
  /** Worker metrics (bytes moved, SIS sessions, ...). */
  metrics: WorkerMetrics;
  /** Directories file sources must resolve into (`OBSQ_SOURCE_ROOTS`). */
  sourceRoots: readonly string[];
  /** Worker-wide settings the handlers need. */
  settings: HandlerSettings;
  /**
   * The BullMQ queue of a catalog job, on this worker's Redis and prefix, for handlers that enqueue
   * other jobs (a schedule tick). Validate payloads with `parsePayload` first.
   */
  queue(name: JobName): Queue;
  /** Non-blocking Redis client (the result store's), for small bookkeeping keys. */
  redis: Redis | Cluster;
  /** Hash-tagged queue prefix, e.g. `{obsq}`; bookkeeping keys start with it to share the queues' slot. */
  prefix: string;
}

/** Worker-wide settings used by handlers. */
export interface HandlerSettings {
  /** SIS endpoint, credentials and client settings (used by transcribe-audio-file with engine `sis`). */
  sis: SisConfig;
  /** `OBSQ_SOURCE_HARDLINKS`: whether file sources with more than one hard link are read. */
  sourceHardlinks: SourceHardlinkPolicy;
  /** The policy-checked http(s) client for URL sources (`OBSQ_URL_*`); owned by the service. */
  urls: UrlClient;
  /** `OBSQ_AUDIO_MAX_BYTES`: largest audio a transcription downloads, in bytes. */
  audioMaxBytes: number;
  /**
   * Warm local engines (one per transcription slot), used by transcribe-audio-file with engine
   * `local`. Unset: a PocketSphinx process per job (the driver could not be built here).
   */
  localEngine?: EnginePool;
}

/**
 * A job handler: returns the job's GetResult record on success, throws on failure. `undefined`
 * means "nothing worth a record" and writes none: only for jobs nobody waits on (a schedule tick
 * that found nothing to do), so the results stream is not flooded with empty entries.
 */
export type JobHandler<N extends JobName> = (ctx: JobContext<N>) => Promise<GetResult | undefined>;

/**
 * How the worker runs one job name (the catalog's `JobDefinition` says what the job is; this says
 * what runs it).
 */
export interface JobHandlerDefinition<N extends JobName> {
  run: JobHandler<N>;
  /**
   * Cleanup after the last attempt failed, also when BullMQ failed the job for stalling too often
   * (e.g. abort the multipart upload). Must not throw; may return a note for the record's message.
   */
  onFinalFailure?: (ctx: JobContext<N>, err: Error) => Promise<string | void>;
}

/** The handler map: one entry per catalog job name, checked by the compiler. */
export type JobHandlers = { [K in JobName]: JobHandlerDefinition<K> };
