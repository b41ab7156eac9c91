import { createHash, randomBytes } from 'node:crypto';
import { Queue } from 'bullmq';
import { pino } from 'pino';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadWorkerConfig } from '@obsq/shared';
import { multipartEtag, startWorkerService, type WorkerService } from '@obsq/worker';
import { sha256Object, startStack, type Stack } from './helpers/stack.js';

/*
 * Issue 14: copy-object's records and checks, with the worker in this process (so mutation testing
 * reaches copyObject.ts): single CopyObject, UploadPartCopy parts pinned to the source's ETag, and a
 * part copy whose answered ETag is wrong.
 */

const KiB = 1024;
const PART = 100 * KiB;
const logger = pino({ level: 'silent' });

let stack: Stack;
let service: WorkerService;

beforeAll(async () => {
  stack = await startStack({ minPartSize: PART, copyThreshold: 250 * KiB });
  const config = loadWorkerConfig({ ...stack.env, OBSQ_METRICS_HOST: '127.0.0.1', OBSQ_METRICS_PORT: '0' });
  service = await startWorkerService(config, { logger });
}, 60_000);

afterAll(async () => {
  await service?.close();
  await stack?.close();
});

beforeEach(() => {
  stack.devstack.setFaults([]);
  stack.devstack.resetStats();
});

const md5hex = (b: Buffer) => createHash('md5').update(b).digest('hex');
const copied = async () =>
  (await service.registry.getSingleMetric('obsq_copied_bytes_total')!.get()).values.find((v) => v.labels.queue === 'copy-object')?.value ?? 0;

async function source(key: string, size: number): Promise<Buffer> {
  const bytes = randomBytes(size);
  await stack.storage.putObject({ bucket: 'ingest', key, body: bytes, contentType: 'application/x-src', metadata: { origin: 'lab' } });
  return bytes;
}

interface SingleBody {
  path: string;
  size: number;
  etag: string;
  lastModified: string;
  versionId: string;
  copySourceVersionId: string;
}

describe('issue 14: copy-object in process', () => {
  it('single CopyObject: the record carries the copy response, the size from HEAD and the path; bytes counted once', async () => {
    const bytes = await source('src/single.bin', 200 * KiB);
    const before = await copied();
    const enq = await stack.producer.enqueueCopy({ source: { bucket: 'ingest', key: 'src/single.bin' }, target: { bucket: 'ingest', key: 'dst/single.bin' } });
    expect(enq).toMatchObject({ path: 'single', size: 200 * KiB });
    const rec = await stack.producer.waitForResult<SingleBody>(enq.jobId, { timeoutMs: 30_000 });
    expect(rec.result.status).toBe(200);
    expect(rec.attempts).toBe(1);
    const head = await stack.storage.headObject({ bucket: 'ingest', key: 'dst/single.bin' });
    expect(rec.result.body).toMatchObject({ path: 'single', size: 200 * KiB, etag: `"${md5hex(bytes)}"`, versionId: head.body!.versionId });
    expect(rec.result.body!.lastModified).not.toBe('');
    expect(head.body).toMatchObject({ contentType: 'application/x-src', metadata: { origin: 'lab' } });
    expect((await copied()) - before).toBe(200 * KiB);
    expect(stack.devstack.stats().operations.CopyObject!.requests).toBe(1);
  });

  it('REPLACE sets the given metadata and content type', async () => {
    await source('src/replace.bin', 10 * KiB);
    const enq = await stack.producer.enqueueCopy({
      source: { bucket: 'ingest', key: 'src/replace.bin' },
      target: { bucket: 'ingest', key: 'dst/replace.bin' },
      metadataDirective: 'REPLACE',
      metadata: { stage: 'published' },
      contentType: 'text/plain',
    });
    expect((await stack.producer.waitForResult(enq.jobId, { timeoutMs: 30_000 })).result.status).toBe(200);
    const head = await stack.storage.headObject({ bucket: 'ingest', key: 'dst/replace.bin' });
    expect(head.body).toMatchObject({ contentType: 'text/plain', metadata: { stage: 'published' } });
  });

  it('multipart copy: each part record has its number, ETag, size and time; the object is the source; bytes counted per part', async () => {
    const bytes = await source('src/multi.bin', 3 * PART - 5);
    const before = await copied();
    const enq = await stack.producer.enqueueCopy({ source: { bucket: 'ingest', key: 'src/multi.bin' }, target: { bucket: 'ingest', key: 'dst/multi.bin' }, partSize: PART });
    expect(enq).toMatchObject({ path: 'multipart', parts: 3 });
    const rec = await stack.producer.waitForResult<{ etag: string; parts: number; size: number; path: string }>(enq.jobId, { timeoutMs: 30_000 });
    expect(rec.result.status).toBe(200);
    const md5s = [bytes.subarray(0, PART), bytes.subarray(PART, 2 * PART), bytes.subarray(2 * PART)].map(md5hex);
    expect(rec.result.body).toMatchObject({ path: 'multipart', parts: 3, size: bytes.length });
    expect(rec.result.body!.etag.replace(/"/g, '')).toBe(multipartEtag(md5s));
    const part3 = await stack.producer.getResult<{ partNumber: number; etag: string; size: number; lastModified: string }>(`${enq.jobId}-part-3`);
    expect(part3?.result.body).toMatchObject({ partNumber: 3, etag: `"${md5s[2]}"`, size: PART - 5 });
    expect(part3?.result.body!.lastModified).toMatch(/^\d{4}-\d\d-\d\dT/);
    const parts = new Queue('copy-object', { connection: stack.producerRedis, prefix: `{${stack.env.OBSQ_PREFIX}}` });
    try {
      expect((await parts.getJob(`${enq.jobId}-part-3`))?.progress).toEqual({ bytes: PART - 5, total: PART - 5 });
    } finally {
      await parts.close();
    }
    expect(await sha256Object(stack.storage, 'ingest', 'dst/multi.bin')).toBe(createHash('sha256').update(bytes).digest('hex'));
    expect((await copied()) - before).toBe(bytes.length);
  });

  it('a part copy answered with a wrong ETag fails the Complete (InvalidPart) and the upload is aborted', async () => {
    await source('src/wrong.bin', 3 * PART);
    stack.devstack.setFaults([{ op: 'UploadPartCopy', times: 1, tamper: 'wrong-etag' }]);
    const enq = await stack.producer.enqueueCopy({ source: { bucket: 'ingest', key: 'src/wrong.bin' }, target: { bucket: 'ingest', key: 'dst/wrong.bin' }, partSize: PART });
    const rec = await stack.producer.waitForResult(enq.jobId, { timeoutMs: 30_000 });
    expect(rec.result).toMatchObject({ status: 400, errorCode: 'InvalidPart' });
    const err = await stack.storage.listAllParts({ bucket: 'ingest', key: 'dst/wrong.bin', uploadId: enq.uploadId! }).then(() => undefined, (e: unknown) => e);
    expect((err as { result?: { errorCode?: string } }).result?.errorCode).toBe('NoSuchUpload');
  });

  it('parts are pinned to the source seen at enqueue: a source replaced before they run fails with PreconditionFailed', async () => {
    await source('src/moving.bin', 3 * PART);
    await service.close();
    try {
      const enq = await stack.producer.enqueueCopy({ source: { bucket: 'ingest', key: 'src/moving.bin' }, target: { bucket: 'ingest', key: 'dst/moving.bin' }, partSize: PART });
      await source('src/moving.bin', 3 * PART);
      service = await startWorkerService(loadWorkerConfig({ ...stack.env, OBSQ_METRICS_HOST: '127.0.0.1', OBSQ_METRICS_PORT: '0' }), { logger });
      const rec = await stack.producer.waitForResult(enq.jobId, { timeoutMs: 30_000 });
      expect(rec.result).toMatchObject({ status: 412, errorCode: 'PreconditionFailed' });
      await expect(stack.storage.headObject({ bucket: 'ingest', key: 'dst/moving.bin' })).rejects.toMatchObject({ result: { status: 404 } });
    } finally {
      if (!service.runtime.isRunning()) service = await startWorkerService(loadWorkerConfig({ ...stack.env, OBSQ_METRICS_HOST: '127.0.0.1', OBSQ_METRICS_PORT: '0' }), { logger });
    }
  });
});
