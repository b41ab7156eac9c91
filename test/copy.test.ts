import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { sha256Object, startStack, type Stack } from './helpers/stack.js';
import { waitFor } from './helpers/waitFor.js';

const MiB = 1024 * 1024;
let stack: Stack | undefined;
afterEach(async () => {
  await stack?.close();
  stack = undefined;
});

async function put(s: Stack, key: string, size: number, extra: { contentType?: string; metadata?: Record<string, string> } = {}) {
  await s.storage.putObject({ bucket: 'ingest', key, body: randomBytes(size), ...extra });
}

interface CopyBody {
  lastModified: string;
  etag: string;
  path: string;
  size: number;
  copySourceVersionId: string;
  versionId: string;
}

describe('copy-object', () => {
  it('single copy of 1 MiB: bytes equal, CopyObjectResponse record; COPY vs REPLACE metadata', async () => {
    stack = await startStack({ workers: 1 });
    await put(stack, 'src/one.bin', MiB, { contentType: 'application/x-test', metadata: { origin: 'lab' } });
    const enq = await stack.producer.enqueueCopy({ source: { bucket: 'ingest', key: 'src/one.bin' }, target: { bucket: 'ingest', key: 'dst/one.bin' } });
    expect(enq).toMatchObject({ path: 'single', size: MiB });
    const rec = await stack.producer.waitForResult<CopyBody>(enq.jobId, { timeoutMs: 30_000 });
    expect(rec.result.status).toBe(200);
    expect(rec.result.body).toMatchObject({ path: 'single', size: MiB });
    expect(rec.result.body!.etag).toMatch(/^"?[0-9a-f]{32}"?$/);
    expect(rec.result.body!.lastModified).not.toBe('');
    expect(Object.keys(rec.result.body!)).toEqual(
      expect.arrayContaining(['lastModified', 'etag', 'copySourceVersionId', 'versionId', 'sseKms', 'sseKmsKey', 'sseC', 'sseCKeyMd5']),
    );
    expect(await sha256Object(stack.storage, 'ingest', 'dst/one.bin')).toBe(await sha256Object(stack.storage, 'ingest', 'src/one.bin'));
    const copied = await stack.storage.headObject({ bucket: 'ingest', key: 'dst/one.bin' });
    expect(copied.body).toMatchObject({ contentType: 'application/x-test', metadata: { origin: 'lab' } });

    const replaced = await stack.producer.enqueueCopy({
      source: { bucket: 'ingest', key: 'src/one.bin' },
      target: { bucket: 'ingest', key: 'dst/replaced.bin' },
      metadataDirective: 'REPLACE',
      metadata: { stage: 'published' },
      contentType: 'text/plain',
    });
    expect((await stack.producer.waitForResult(replaced.jobId, { timeoutMs: 30_000 })).result.status).toBe(200);
    const head = await stack.storage.headObject({ bucket: 'ingest', key: 'dst/replaced.bin' });
    expect(head.body!.contentType).toBe('text/plain');
    expect(head.body!.metadata).toEqual({ stage: 'published' });
  });

  it('multipart copy of 40 MiB across 2 workers (threshold 4 MiB), with UploadPartCopy faults retried per part', async () => {
    stack = await startStack({
      workers: 2,
      copyThreshold: 4 * MiB,
      faults: [{ op: 'UploadPartCopy', rate: 0.25, error: { status: 503, code: 'SlowDown' } }],
    });
    await put(stack, 'src/big.bin', 40 * MiB, { metadata: { batch: '7' } });
    const enq = await stack.producer.enqueueCopy({ source: { bucket: 'ingest', key: 'src/big.bin' }, target: { bucket: 'ingest', key: 'dst/big.bin' }, partSize: '4MiB' });
    expect(enq).toMatchObject({ path: 'multipart', parts: 10, size: 40 * MiB });
    const rec = await stack.producer.waitForResult<CopyBody & { parts: number }>(enq.jobId, { timeoutMs: 120_000 });
    expect(rec.result.status).toBe(200);
    expect(rec.result.body).toMatchObject({ path: 'multipart', size: 40 * MiB, parts: 10 });
    expect(rec.result.body!.etag.replace(/"/g, '')).toMatch(/-10$/);
    expect(await sha256Object(stack.storage, 'ingest', 'dst/big.bin')).toBe(await sha256Object(stack.storage, 'ingest', 'src/big.bin'));
    expect((await stack.storage.headObject({ bucket: 'ingest', key: 'dst/big.bin' })).body!.metadata).toEqual({ batch: '7' });
    const stats = stack.devstack.stats().operations.UploadPartCopy!;
    expect(stats.faults.error).toBeGreaterThan(0);
    expect(stats.requests).toBeGreaterThan(10);
    // Totals only (the split between the two workers is the scheduler's): each of the 10 part
    // copies completed exactly once.
    const completions = stack.workers.map((w) => w.output().split('(copy-object) completed').length - 1);
    expect(completions.reduce((a, b) => a + b, 0)).toBe(10);
  });

  it('source missing at run time: NoSuchKey in the record after one attempt', async () => {
    stack = await startStack({ workers: 0 });
    await put(stack, 'src/gone.bin', 1000);
    const enq = await stack.producer.enqueueCopy({ source: { bucket: 'ingest', key: 'src/gone.bin' }, target: { bucket: 'ingest', key: 'dst/gone.bin' } });
    await stack.storage.deleteObject({ bucket: 'ingest', key: 'src/gone.bin' });
    await stack.startWorker();
    const rec = await stack.producer.waitForResult(enq.jobId, { timeoutMs: 30_000 });
    expect(rec.attempts).toBe(1);
    expect(rec.result.status).toBe(404);
    expect(rec.result.errorCode).toBe('NoSuchKey');
    // Missing already at enqueue: the producer refuses with the server's code.
    const err = await stack.producer
      .enqueueCopy({ source: { bucket: 'ingest', key: 'src/never.bin' }, target: { bucket: 'ingest', key: 'dst/x.bin' } })
      .then(() => undefined, (e: unknown) => e as { result?: { status: number } });
    expect(err?.result?.status).toBe(404);
  });

  it('source replaced mid multipart copy: clear failure, upload aborted', async () => {
    stack = await startStack({ workers: 0, copyThreshold: 4 * MiB, faults: [{ op: 'UploadPartCopy', latencyMs: 200 }] });
    await put(stack, 'src/moving.bin', 20 * MiB);
    const enq = await stack.producer.enqueueCopy({ source: { bucket: 'ingest', key: 'src/moving.bin' }, target: { bucket: 'ingest', key: 'dst/moving.bin' }, partSize: '4MiB' });
    // One part at a time, so the replacement lands between parts.
    const worker = await stack.startWorker({ OBSQ_CONCURRENCY_COPY_OBJECT: '1' });
    await waitFor(() => worker.output().includes('(copy-object) completed'), { what: 'a part copied' });
    await put(stack, 'src/moving.bin', 20 * MiB);
    const rec = await stack.producer.waitForResult(enq.jobId, { timeoutMs: 60_000 });
    expect(rec.result.status).toBe(412);
    expect(rec.result.errorCode).toBe('PreconditionFailed');
    const err = await stack.storage.listAllParts({ bucket: 'ingest', key: 'dst/moving.bin', uploadId: enq.uploadId! }).then(() => undefined, (e: unknown) => e);
    expect((err as { result?: { errorCode?: string } }).result?.errorCode).toBe('NoSuchUpload');
  });
});
