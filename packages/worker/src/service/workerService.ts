import { hostname } from 'node:os';
import { Queue } from 'bullmq';
import { Registry } from 'prom-client';
import {
  createRedis,
  quitRedis,
  redisReady,
  jobCatalog,
  redactConfig,
  UrlClient,
  type JobName,
  type Logger,
  type WorkerConfig,
} from '@obsq/shared';
import { EnginePool } from '@obsq/speech';
import { obsClientFromConfig } from '@obsq/storage';
import { startMetricsServer, type MetricsServer } from '../http/index.js';
import { createWorkerMetrics, QUEUE_DEPTH_STATES, statusClassOf } from '../metrics/index.js';
import { WorkerRuntime } from '../runtime/workerRuntime.js';

/** A running worker service: BullMQ workers, metrics/health server, connections. */
export interface WorkerService {
  runtime: WorkerRuntime;
  metricsServer: MetricsServer;
  registry: Registry;
  /** Graceful stop: drain until the deadline, then abort; closes everything in reverse order. Idempotent. */
  close(): Promise<void>;
}

/** Options of {@link startWorkerService}. */
export interface WorkerServiceOptions {
  logger: Logger;
  /** Only run these queues. @defaultValue every queue of the job catalog */
  queues?: readonly JobName[];
}

/** Starts a worker from its parsed config. Never reads process.env. */
export async function startWorkerService(config: WorkerConfig, { logger, queues }: WorkerServiceOptions): Promise<WorkerService> {
  logger.info({ config: redactConfig(config) }, 'worker starting');
  // What is acquired is released in reverse order, also when a later start step fails (a port in
  // use, Redis gone): a failed start leaves no connection, server or timer behind.
  const releasers: Array<[string, () => Promise<unknown>]> = [];
  const releaseAll = async (errors: unknown[]) => {
    for (const [name, release] of releasers.splice(0).reverse()) {
      logger.info(`shutdown: closing ${name}`);
      await release().catch((e: unknown) => errors.push(e));
    }
  };
  let runtime: WorkerRuntime | undefined;
  let draining = false;
  let metricsServer: MetricsServer;
  let registry: Registry;
  try {
    registry = new Registry();
    const redis = createRedis('producer', config.redis, logger);
    releasers.push(['redis', () => quitRedis(redis)]);
    await redisReady(redis);
    const blocking: ReturnType<typeof createRedis>[] = [];
    const connection = () => {
      const c = createRedis('worker', config.redis, logger);
      blocking.push(c);
      return c;
    };
    releasers.push(['worker connections', () => Promise.allSettled(blocking.map((c) => quitRedis(c)))]);

    const countQueues = (queues ?? (Object.keys(jobCatalog) as JobName[])).map((name) => {
      const q = new Queue(name, { connection: redis, prefix: config.redis.prefix });
      q.on('error', (err) => logger.warn({ err, queue: name }, 'queue error'));
      return q;
    });
    releasers.push(['count queues', () => Promise.allSettled(countQueues.map((q) => q.close()))]);

    const metrics = createWorkerMetrics({
      register: registry,
      workerId: `${hostname()}:${process.pid}`,
      logger,
      queues: countQueues.map((q) => ({ name: q.name, getCounts: () => q.getJobCounts(...QUEUE_DEPTH_STATES) })),
    });
    const storage = obsClientFromConfig(config.obs, {
      onRequest: (e) => metrics.storageRequest(e.operation, e.status === 0 ? 'network' : statusClassOf(e.status), e.durationMs / 1000),
      logger,
    });
    releasers.push(['storage client', () => storage.close()]);
    const urls = new UrlClient(config.url);
    releasers.push(['url client', () => urls.close()]);

    const localEngine = (queues ?? (Object.keys(jobCatalog) as JobName[])).includes('transcribe-audio-file')
      ? await EnginePool.create({
          size: config.concurrency['transcribe-audio-file'],
          onReplaced: (reason) => metrics.engineReplaced(reason),
          logger,
        }).catch((err: unknown) => {
          // Still works, only slower: a PocketSphinx process (and model load) per job.
          logger.warn({ err }, 'warm local engines unavailable; local transcriptions start an engine per job');
          return undefined;
        })
      : undefined;
    if (localEngine) releasers.push(['local engines', () => localEngine.close()]);

    runtime = new WorkerRuntime({
      connection,
      redis,
      prefix: config.redis.prefix,
      concurrency: config.concurrency,
      storage,
      retentionSeconds: config.redis.resultRetentionSeconds,
      streamMaxLen: config.redis.resultStreamMaxLen,
      sourceRoots: config.sourceRoots,
      lockDurationMs: config.lockDurationMs,
      stalledIntervalMs: config.stalledIntervalMs,
      logger,
      metrics,
      settings: { sis: config.sis, sourceHardlinks: config.sourceHardlinks, urls, audioMaxBytes: config.audioMaxBytes, ...(localEngine ? { localEngine } : {}) },
      queues,
    });
    metricsServer = await startMetricsServer({
      host: config.metrics.host,
      port: config.metrics.port,
      register: registry,
      logger,
      ready: async () => {
        if (draining) return { ok: false, reason: 'draining' };
        if (!runtime?.isRunning()) return { ok: false, reason: 'workers not running' };
        await redis.ping();
        return { ok: true };
      },
    });
    releasers.push(['metrics server', () => metricsServer.close()]);
    await runtime.start();
    logger.info({ metricsUrl: metricsServer.url, queues: queues ?? 'all' }, 'worker ready');

  } catch (err) {
    const errors: unknown[] = [];
    if (runtime) await runtime.close(Date.now()).catch((e: unknown) => errors.push(e));
    await releaseAll(errors);
    if (errors.length > 0) logger.error({ err: new AggregateError(errors, 'release after a failed start had errors') }, 'worker start cleanup');
    throw err;
  }
  const started = runtime;

  let closing: Promise<void> | undefined;
  return {
    runtime: started,
    metricsServer,
    registry,
    close() {
      closing ??= (async () => {
        draining = true;
        const deadline = Date.now() + config.shutdownTimeoutMs;
        logger.info({ timeoutMs: config.shutdownTimeoutMs }, 'shutdown: draining workers');
        const errors: unknown[] = [];
        await started.close(deadline).catch((e: unknown) => errors.push(e));
        // Release in reverse order of acquisition; each step runs even if an earlier one failed.
        await releaseAll(errors);
        if (errors.length > 0) throw new AggregateError(errors, 'worker shutdown had errors');
      })();
      return closing;
    },
  };
}
