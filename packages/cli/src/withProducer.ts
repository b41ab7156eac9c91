import { Producer } from '@obsq/producer';
import { createRedis, quitRedis, redisReady, type Logger, type ProducerConfig } from '@obsq/shared';
import { obsClientFromConfig } from '@obsq/storage';

/** Runs `fn` with a Producer built from config, and closes everything afterwards (in reverse order). */
export async function withProducer<T>(config: ProducerConfig, logger: Logger, fn: (p: Producer) => Promise<T>): Promise<T> {
  const redis = createRedis('producer', config.redis, logger);
  await redisReady(redis);
  const storage = obsClientFromConfig(config.obs, { logger });
  const producer = new Producer({
    redis,
    prefix: config.redis.prefix,
    storage,
    minPartSize: config.obs.minPartSize,
    copyThreshold: config.obs.copyThreshold,
    retentionSeconds: config.redis.resultRetentionSeconds,
    streamMaxLen: config.redis.resultStreamMaxLen,
    urlPolicy: config.url,
    scheduleMinIntervalMs: config.scheduleMinIntervalMs,
    logger,
  });
  try {
    return await fn(producer);
  } finally {
    await producer.close().catch((err: unknown) => logger.warn({ err }, 'producer close failed'));
    await storage.close().catch(() => undefined);
    await quitRedis(redis);
  }
}
