import { posix } from 'node:path';
import { z } from 'zod';
import type { JobName } from '../catalog/index.js';
import { LOG_LEVELS, type LogLevel } from '../logging/index.js';
import { sourcePathIssues } from '../validation/index.js';
import type { UrlPolicy } from '../net/index.js';
import { enumEnv, intEnv, sizeEnv, stringEnv } from './envFields.js';
import { toUrlPolicy, urlEnvShape } from './urlConfig.js';
import { obsEnvIssues, obsEnvShape, toObsConfig, type ObsConfig } from './obsConfig.js';
import { addConfigIssues, ALSO_AFTER_FIELD_ERRORS, parseEnv, type ConfigIssue, type Env } from './parseEnv.js';
import { redisEnvIssues, redisEnvShape, toRedisConfig, type RedisConfig } from './redisConfig.js';
import { sisEnvIssues, sisEnvShape, toSisConfig, type SisConfig } from './sisConfig.js';

/** Default `OBSQ_AUDIO_MAX_BYTES`: 2 GiB, about 18 hours of 16 kHz 16-bit mono. */
export const AUDIO_MAX_BYTES_DEFAULT = 2 * 1024 ** 3;

/** What a worker does with a file source that has more than one hard link (`OBSQ_SOURCE_HARDLINKS`). */
export const SOURCE_HARDLINK_POLICIES = ['refuse', 'allow'] as const;
/** One of {@link SOURCE_HARDLINK_POLICIES}. */
export type SourceHardlinkPolicy = (typeof SOURCE_HARDLINK_POLICIES)[number];

/** Worker service configuration. Holds secrets: log it only through `redactConfig`. */
export interface WorkerConfig {
  obs: ObsConfig;
  redis: RedisConfig;
  sis: SisConfig;
  /**
   * Jobs run at once per queue. @defaultValue put-object 16, upload-part 8, complete-multipart 16,
   * copy-object 8, transcribe-audio-file 2
   */
  concurrency: Record<JobName, number>;
  /**
   * Directories file sources must lie under (absolute, normalised). Empty (the default) means the
   * worker refuses every file source, naming `OBSQ_SOURCE_ROOTS`.
   */
  sourceRoots: string[];
  /**
   * `refuse`: a file source with more than one hard link fails (a link inside a root may name a file
   * that lives outside every root). `allow`: such files are read. @defaultValue `'refuse'`
   */
  sourceHardlinks: SourceHardlinkPolicy;
  /** Where http(s) sources may be fetched from (`OBSQ_URL_ALLOW`, `OBSQ_URL_DENY`, `OBSQ_URL_TIMEOUT_MS`). */
  url: UrlPolicy;
  /** Largest audio a transcription downloads (URL or object), in bytes. @defaultValue 2 GiB */
  audioMaxBytes: number;
  metrics: {
    /** @defaultValue `'0.0.0.0'` */
    host: string;
    /** 0 picks a free port. @defaultValue 9464 */
    port: number;
  };
  /** How long graceful shutdown may take before in-flight work is aborted, in ms. @defaultValue 30000 */
  shutdownTimeoutMs: number;
  /** @defaultValue `'info'` */
  logLevel: LogLevel;
  /** BullMQ `stalledInterval`, in ms. @defaultValue 30000 */
  stalledIntervalMs: number;
  /** BullMQ `lockDuration`, in ms. @defaultValue 30000 */
  lockDurationMs: number;
}

/** The worker-only variables. */
export const workerEnvShape = {
  OBSQ_CONCURRENCY_PUT_OBJECT: intEnv({ default: 16 }),
  OBSQ_CONCURRENCY_UPLOAD_PART: intEnv({ default: 8 }),
  // Completing waits on the server, holding no part in memory: many at once cost little, and a
  // batch of many mid-sized files finishes one upload per file.
  OBSQ_CONCURRENCY_COMPLETE_MULTIPART: intEnv({ default: 16 }),
  OBSQ_CONCURRENCY_COPY_OBJECT: intEnv({ default: 8 }),
  OBSQ_CONCURRENCY_TRANSCRIBE_AUDIO_FILE: intEnv({ default: 2 }),
  OBSQ_SOURCE_ROOTS: stringEnv({ default: undefined }),
  OBSQ_SOURCE_HARDLINKS: enumEnv(SOURCE_HARDLINK_POLICIES, 'refuse'),
  OBSQ_AUDIO_MAX_BYTES: sizeEnv(AUDIO_MAX_BYTES_DEFAULT, 1, Number.MAX_SAFE_INTEGER),
  OBSQ_METRICS_HOST: stringEnv({ default: '0.0.0.0' }),
  OBSQ_METRICS_PORT: intEnv({ default: 9464, min: 0, max: 65_535 }),
  OBSQ_SHUTDOWN_TIMEOUT_MS: intEnv({ default: 30_000 }),
  OBSQ_LOG_LEVEL: enumEnv(LOG_LEVELS, 'info'),
  OBSQ_STALLED_INTERVAL_MS: intEnv({ default: 30_000 }),
  OBSQ_LOCK_DURATION_MS: intEnv({ default: 30_000 }),
};

function splitRoots(raw: string | undefined): string[] {
  return (raw ?? '')
    .split(':')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

function rootIssues(raw: string | undefined): ConfigIssue[] {
  return splitRoots(raw).flatMap((root, i) =>
    sourcePathIssues(root, 'OBSQ_SOURCE_ROOTS').map((issue) => ({ variable: issue.field, rule: `entry ${i + 1} ${issue.rule}` })),
  );
}

/** Every variable the worker reads, as one zod schema (all sections plus the worker-only ones). */
export const workerConfigSchema = z
  .looseObject({ ...obsEnvShape, ...redisEnvShape, ...sisEnvShape, ...urlEnvShape, ...workerEnvShape })
  .superRefine((env, ctx) => {
    addConfigIssues(ctx, [...obsEnvIssues(env), ...redisEnvIssues(env), ...sisEnvIssues(env), ...rootIssues(env.OBSQ_SOURCE_ROOTS)]);
  }, ALSO_AFTER_FIELD_ERRORS)
  .transform(
    (env): WorkerConfig => ({
      obs: toObsConfig(env),
      redis: toRedisConfig(env),
      sis: toSisConfig(env),
      concurrency: {
        'put-object': env.OBSQ_CONCURRENCY_PUT_OBJECT,
        'upload-part': env.OBSQ_CONCURRENCY_UPLOAD_PART,
        'complete-multipart': env.OBSQ_CONCURRENCY_COMPLETE_MULTIPART,
        'copy-object': env.OBSQ_CONCURRENCY_COPY_OBJECT,
        'transcribe-audio-file': env.OBSQ_CONCURRENCY_TRANSCRIBE_AUDIO_FILE,
        // A schedule tick only lists and enqueues; one at a time per worker is plenty.
        'scan-transcriptions': 1,
        // Aborting stale uploads is a handful of requests per run, also one at a time.
        'abort-stale-uploads': 1,
      },
      // normalize() drops a trailing slash so root checks compare `${root}/` prefixes uniformly.
      sourceRoots: splitRoots(env.OBSQ_SOURCE_ROOTS).map((r) => (r === '/' ? r : posix.normalize(r).replace(/\/+$/, ''))),
      sourceHardlinks: env.OBSQ_SOURCE_HARDLINKS,
      url: toUrlPolicy(env),
      audioMaxBytes: env.OBSQ_AUDIO_MAX_BYTES,
      metrics: { host: env.OBSQ_METRICS_HOST ?? '0.0.0.0', port: env.OBSQ_METRICS_PORT },
      shutdownTimeoutMs: env.OBSQ_SHUTDOWN_TIMEOUT_MS,
      logLevel: env.OBSQ_LOG_LEVEL,
      stalledIntervalMs: env.OBSQ_STALLED_INTERVAL_MS,
      lockDurationMs: env.OBSQ_LOCK_DURATION_MS,
    }),
  );

/**
 * Reads the worker's configuration from `env` (pass `process.env` from `main()`).
 * @throws ConfigError listing every bad variable
 */
export function loadWorkerConfig(env: Env): WorkerConfig {
  return parseEnv(workerConfigSchema, env, { service: 'obsq-worker' });
}
