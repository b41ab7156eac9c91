import { createServer, type Server } from 'node:net';
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { startRedisServer, type LocalRedis } from '@obsq/devstack';
import { loadWorkerConfig } from '@obsq/shared';
import { startWorkerService, type WorkerService } from '@obsq/worker';
import { startStack, type Stack } from './helpers/stack.js';
import { waitFor } from './helpers/waitFor.js';

const KiB = 1024;
const logger = pino({ level: 'silent' });

let stack: Stack | undefined;
let redis: LocalRedis | undefined;
let blocker: Server | undefined;
const services: WorkerService[] = [];

afterEach(async () => {
  await Promise.all(services.splice(0).map((s) => s.close()));
  await new Promise<void>((r) => (blocker ? blocker.close(() => r()) : r()));
  blocker = undefined;
  await stack?.close();
  stack = undefined;
  await redis?.stop();
  redis = undefined;
});

describe('issue 9: worker fixes found while splitting shared', () => {
  it('a worker whose start fails after Redis is up releases every connection', async () => {
    redis = await startRedisServer();
    blocker = createServer();
    await new Promise<void>((r) => blocker!.listen(0, '127.0.0.1', () => r()));
    const port = (blocker.address() as { port: number }).port;
    const config = loadWorkerConfig({
      OBSQ_REDIS_URL: redis.url,
      OBSQ_OBS_ENDPOINT: 'http://127.0.0.1:9',
      OBSQ_OBS_SIGNATURE: 'v4',
      OBSQ_OBS_ACCESS_KEY_ID: 'ak',
      OBSQ_OBS_SECRET_ACCESS_KEY: 'sk',
      OBSQ_METRICS_HOST: '127.0.0.1',
      OBSQ_METRICS_PORT: String(port),
    });
    const err = await startWorkerService(config, { logger }).then(
      () => undefined,
      (e: unknown) => e as NodeJS.ErrnoException,
    );
    expect(err?.code, String(err)).toBe('EADDRINUSE');
    // Redis saw the worker connect (the failure came after it), and no client is left.
    await waitFor(async () => (await redis!.connectedClients()) === 0, { timeoutMs: 5_000, what: 'no Redis client left' });
  });

  it('a complete-multipart job failed for stalling too often aborts its upload and writes one record', async () => {
    stack = await startStack({ minPartSize: 100 * KiB });
    const path = join(stack.dir, 'stall.bin');
    await writeFile(path, randomBytes(300 * KiB));
    const enq = await stack.producer.enqueueUpload({ source: { kind: 'file', path }, bucket: 'ingest', key: 'stall.bin', partSize: 100 * KiB });
    const config = loadWorkerConfig({ ...stack.env, OBSQ_METRICS_HOST: '127.0.0.1', OBSQ_METRICS_PORT: '0' });
    const prefix = `{${stack.env.OBSQ_PREFIX}}`;
    // Parts only: the parent becomes waiting once every part is in.
    const parts = await startWorkerService(config, { logger, queues: ['upload-part'] });
    services.push(parts);
    const complete = new Queue('complete-multipart', { connection: stack.producerRedis, prefix });
    try {
      await waitFor(async () => (await complete.getJobState(enq.jobId)) === 'waiting', { timeoutMs: 30_000, what: 'parent waiting' });
      // What BullMQ's stalled-job check writes when a job has stalled more than maxStalledCount
      // times: the next worker to fetch it fails it without running the processor.
      await stack.producerRedis.hset(`${prefix}:complete-multipart:${enq.jobId}`, 'defa', 'job stalled more than allowable limit');
      services.push(await startWorkerService(config, { logger, queues: ['complete-multipart'] }));
      const rec = await stack.producer.waitForResult(enq.jobId, { timeoutMs: 30_000 });
      expect(rec.result.status).toBe(0);
      expect(rec.result.errorMessage).toContain('stalled more than allowable limit');
      expect(rec.result.errorMessage).toContain(`upload ${enq.uploadId} aborted`);
      const uploads = await stack.storage.listAllMultipartUploads({ bucket: 'ingest' });
      expect(uploads).toEqual([]);
      expect(await complete.getJobState(enq.jobId)).toBe('failed');
    } finally {
      await complete.close();
    }
  });
});
