import { z } from 'zod';
import { queuePrefix } from '../catalog/index.js';
import { boolEnv, intEnv, stringEnv } from './envFields.js';
import { addConfigIssues, ALSO_AFTER_FIELD_ERRORS, type ConfigIssue } from './parseEnv.js';

/** Redis settings. */
export interface RedisConfig {
  /**
   * `redis://` or `rediss://` URLs; several only with `cluster` (the seed nodes). May hold a password:
   * never log (see `redactConfig`). @defaultValue `['redis://127.0.0.1:6379']`
   */
  urls: string[];
  /** Connect with ioredis `Cluster`. @defaultValue false */
  cluster: boolean;
  /** BullMQ prefix, hash-tagged for Cluster: `obsq` becomes `{obsq}`. @defaultValue `'{obsq}'` */
  prefix: string;
  /** How long GetResult records are kept, in seconds. @defaultValue 604800 (7 days) */
  resultRetentionSeconds: number;
  /** Approximate cap on the result stream's length (XADD MAXLEN ~). @defaultValue 100000 */
  resultStreamMaxLen: number;
}

const DEFAULT_URL = 'redis://127.0.0.1:6379';

/** The variables of {@link RedisConfig}. */
export const redisEnvShape = {
  OBSQ_REDIS_URL: stringEnv({ default: DEFAULT_URL, secret: true }),
  OBSQ_REDIS_CLUSTER: boolEnv(false),
  OBSQ_PREFIX: stringEnv({
    default: 'obsq',
    check: (raw) => (/^[^\s]+$/.test(raw) ? undefined : 'must not contain spaces'),
  }),
  OBSQ_RESULT_RETENTION_SECONDS: intEnv({ default: 7 * 24 * 3600 }),
  OBSQ_RESULT_STREAM_MAXLEN: intEnv({ default: 100_000 }),
};

type RedisEnv = z.output<z.ZodObject<typeof redisEnvShape>>;

function splitUrls(raw: string): string[] {
  return raw
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

/** Cross-variable rules of the Redis section. URLs are checked here so a password is never echoed. */
export function redisEnvIssues(env: RedisEnv): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const urls = splitUrls(env.OBSQ_REDIS_URL ?? DEFAULT_URL);
  urls.forEach((u, i) => {
    let ok = false;
    try {
      const p = new URL(u).protocol;
      ok = p === 'redis:' || p === 'rediss:';
    } catch {
      ok = false;
    }
    if (!ok) issues.push({ variable: 'OBSQ_REDIS_URL', rule: `entry ${i + 1} must be a redis:// or rediss:// URL` });
  });
  if (urls.length > 1 && !env.OBSQ_REDIS_CLUSTER) {
    issues.push({
      variable: 'OBSQ_REDIS_URL',
      rule: `lists ${urls.length} URLs, which needs OBSQ_REDIS_CLUSTER=true (a single Redis takes one URL)`,
    });
  }
  return issues;
}

/** Builds the section from parsed variables. */
export function toRedisConfig(env: RedisEnv): RedisConfig {
  return {
    urls: splitUrls(env.OBSQ_REDIS_URL ?? DEFAULT_URL),
    cluster: env.OBSQ_REDIS_CLUSTER,
    prefix: queuePrefix(env.OBSQ_PREFIX ?? 'obsq'),
    resultRetentionSeconds: env.OBSQ_RESULT_RETENTION_SECONDS,
    resultStreamMaxLen: env.OBSQ_RESULT_STREAM_MAXLEN,
  };
}

/** Schema of the Redis variables alone. */
export const redisConfigSchema = z
  .looseObject(redisEnvShape)
  .superRefine((env, ctx) => addConfigIssues(ctx, redisEnvIssues(env)), ALSO_AFTER_FIELD_ERRORS)
  .transform((env) => toRedisConfig(env));
