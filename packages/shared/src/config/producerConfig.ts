import { z } from 'zod';
import { LOG_LEVELS, type LogLevel } from '../logging/index.js';
import { durationEnv, enumEnv } from './envFields.js';
import { obsEnvIssues, obsEnvShape, toObsConfig, type ObsConfig } from './obsConfig.js';
import { addConfigIssues, ALSO_AFTER_FIELD_ERRORS, parseEnv, type Env } from './parseEnv.js';
import type { UrlPolicy } from '../net/index.js';
import { toUrlPolicy, urlEnvShape } from './urlConfig.js';
import { redisEnvIssues, redisEnvShape, toRedisConfig, type RedisConfig } from './redisConfig.js';

/** Default `OBSQ_SCHEDULE_MIN_INTERVAL`: a schedule may tick at most once a minute. */
export const SCHEDULE_MIN_INTERVAL_MS_DEFAULT = 60_000;

/** Producer configuration. Holds secrets: log it only through `redactConfig`. */
export interface ProducerConfig {
  obs: ObsConfig;
  redis: RedisConfig;
  /** Where http(s) sources may be fetched from (`OBSQ_URL_ALLOW`, `OBSQ_URL_DENY`, `OBSQ_URL_TIMEOUT_MS`). */
  url: UrlPolicy;
  /** Shortest interval between schedule ticks, in ms (`OBSQ_SCHEDULE_MIN_INTERVAL`). @defaultValue 60000 */
  scheduleMinIntervalMs: number;
  /** @defaultValue `'info'` */
  logLevel: LogLevel;
}

/** Every variable the producer reads. */
export const producerConfigSchema = z
  .looseObject({ ...obsEnvShape, ...redisEnvShape, ...urlEnvShape, OBSQ_SCHEDULE_MIN_INTERVAL: durationEnv(SCHEDULE_MIN_INTERVAL_MS_DEFAULT, 1000), OBSQ_LOG_LEVEL: enumEnv(LOG_LEVELS, 'info') })
  .superRefine((env, ctx) => addConfigIssues(ctx, [...obsEnvIssues(env), ...redisEnvIssues(env)]), ALSO_AFTER_FIELD_ERRORS)
  .transform((env): ProducerConfig => ({ obs: toObsConfig(env), redis: toRedisConfig(env), url: toUrlPolicy(env), scheduleMinIntervalMs: env.OBSQ_SCHEDULE_MIN_INTERVAL, logLevel: env.OBSQ_LOG_LEVEL }));

/**
 * Reads the producer's configuration from `env` (pass `process.env` from `main()`).
 * @throws ConfigError listing every bad variable
 */
export function loadProducerConfig(env: Env): ProducerConfig {
  return parseEnv(producerConfigSchema, env, { service: 'obsq-producer' });
}
