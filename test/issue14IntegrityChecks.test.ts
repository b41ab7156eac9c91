import { statSync } from 'node:fs';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { Queue, QueueEvents } from 'bullmq';
import { pino } from 'pino';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { filePinOf, loadWorkerConfig } from '@obsq/shared';
import { multipartEtag, startWorkerService, type WorkerService } from '@obsq/worker';
import { sha256File, sha256Object, startStack, type Stack } from './helpers/stack.js';
import { waitFor } from './helpers/waitFor.js';

/*
 * Issue 14: each integrity check is shown to fire. The worker runs in this process (so mutation
 * testing can reach its code) against a devstack that requires Content-MD5, with faults that
 * corrupt bytes or lie about ETags.
 */

const KiB = 1024;
const PART = 100 * KiB;
const logger = pino({ level: 'silent' });

let stack: Stack;
let service: WorkerService;

beforeAll(async () => {
  stack = await startStack({ minPartSize: PART });
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
const uploaded = async () =>
  (await service.registry.getSingleMetric('obsq_uploaded_bytes_total')!.get()).values.find((v) => v.labels.queue === 'upload-part')?.value ?? 0;

async function sourceFile(name: string, size: number): Promise<{ path: string; bytes: Buffer }> {
  const path = join(stack.dir, name);
  const bytes = randomBytes(size);
  await writeFile(path, bytes);
  return { path, bytes };
}

function partMd5s(bytes: Buffer): string[] {
  const out: string[] = [];
  for (let o = 0; o < bytes.length; o += PART) out.push(md5hex(bytes.subarray(o, o + PART)));
  return out;
}

/** Records in the results stream for this job id, and for its children. */
async function streamRecords(jobId: string): Promise<{ own: number; children: Map<string, number> }> {
  const entries = await stack.producerRedis.xrange(stack.producer.results.streamKey, '-', '+');
  const children = new Map<string, number>();
  let own = 0;
  for (const [, f] of entries) {
    const field = (name: string) => f[f.indexOf(name) + 1];
    if (field('jobId') === jobId) own++;
    if (field('parentId') === jobId) children.set(field('jobId')!, (children.get(field('jobId')!) ?? 0) + 1);
  }
  return { own, children };
}

async function expectUploadGone(key: string, uploadId: string): Promise<void> {
  const err = await stack.storage.listAllParts({ bucket: 'ingest', key, uploadId }).then(() => undefined, (e: unknown) => e);
  expect((err as { result?: { errorCode?: string } } | undefined)?.result?.errorCode).toBe('NoSuchUpload');
}

describe('issue 14: integrity checks fire', () => {
  it('every part is sent with Content-MD5 (the devstack refuses a part without it)', async () => {
    expect(stack.devstack.settings().requireContentMd5).toBe(true);
    const { path, bytes } = await sourceFile('md5.bin', 2 * PART + 123);
    const uploadedBefore = await uploaded();
    const enq = await stack.producer.enqueueUpload({ source: { kind: 'file', path }, bucket: 'ingest', key: 'md5.bin', partSize: PART });
    const rec = await stack.producer.waitForResult<{ etag: string }>(enq.jobId, { timeoutMs: 60_000 });
    expect(rec.result.errorMessage).toBe('');
    expect(rec.result.status).toBe(200);
    expect(rec.result.body!.etag.replace(/"/g, '')).toBe(multipartEtag(partMd5s(bytes)));
    expect(rec.result.body).toMatchObject({ path: 'multipart-upload', parts: 3, size: bytes.length, bucket: 'ingest', key: 'md5.bin' });
    expect(stack.devstack.stats().operations.UploadPart!.requests).toBe(3);
    expect((await uploaded()) - uploadedBefore).toBe(bytes.length);
    const part2 = await stack.producer.getResult<{ md5: string; size: number; partNumber: number; etag: string }>(`${enq.jobId}-part-2`);
    expect(part2?.result.body).toEqual({ partNumber: 2, size: PART, md5: md5hex(bytes.subarray(PART, 2 * PART)), etag: `"${md5hex(bytes.subarray(PART, 2 * PART))}"` });
    const records = await streamRecords(enq.jobId);
    expect(records.own).toBe(1);
    expect([...records.children.values()]).toEqual([1, 1, 1]);
  });

  it('a part corrupted in transit is refused (BadDigest), sent again, and the object is intact', async () => {
    stack.devstack.setFaults([{ op: 'UploadPart', times: 1, tamper: 'corrupt-body' }]);
    const { path } = await sourceFile('corrupt.bin', 2 * PART);
    const enq = await stack.producer.enqueueUpload({ source: { kind: 'file', path }, bucket: 'ingest', key: 'corrupt.bin', partSize: PART });
    const rec = await stack.producer.waitForResult(enq.jobId, { timeoutMs: 60_000 });
    expect(rec.result.status).toBe(200);
    const stats = stack.devstack.stats().operations.UploadPart!;
    expect(stats.faults.tamper).toBe(1);
    expect(stats.requests).toBe(3);
    expect(await sha256Object(stack.storage, 'ingest', 'corrupt.bin')).toBe(await sha256File(path));
  });

  it('a wrong part ETag makes Complete fail with InvalidPart: the record says so and the upload is aborted', async () => {
    stack.devstack.setFaults([{ op: 'UploadPart', times: 1, tamper: 'wrong-etag' }]);
    const { path } = await sourceFile('wrong-part.bin', 2 * PART);
    const enq = await stack.producer.enqueueUpload({ source: { kind: 'file', path }, bucket: 'ingest', key: 'wrong-part.bin', partSize: PART });
    const rec = await stack.producer.waitForResult(enq.jobId, { timeoutMs: 60_000 });
    expect(rec.result.status).toBe(400);
    expect(rec.result.errorCode).toBe('InvalidPart');
    expect(rec.attempts).toBe(1);
    await expectUploadGone('wrong-part.bin', enq.uploadId);
    await expect(stack.storage.headObject({ bucket: 'ingest', key: 'wrong-part.bin' })).rejects.toMatchObject({ result: { status: 404 } });
    expect((await streamRecords(enq.jobId)).own).toBe(1);
  });

  it('a wrong final ETag is caught by complete-multipart: the record names both ETags, no upload is left', async () => {
    stack.devstack.setFaults([{ op: 'CompleteMultipartUpload', tamper: 'wrong-etag' }]);
    // Ten parts: the ETag check must also see a two-digit `-10` suffix.
    const { path, bytes } = await sourceFile('wrong-final.bin', 9 * PART + 7);
    const enq = await stack.producer.enqueueUpload({ source: { kind: 'file', path }, bucket: 'ingest', key: 'wrong-final.bin', partSize: PART });
    const rec = await stack.producer.waitForResult(enq.jobId, { timeoutMs: 60_000 });
    const expected = multipartEtag(partMd5s(bytes));
    expect(rec.result.status).toBe(0);
    expect(rec.result.errorCode).toBe('OBSQ_STORAGE');
    expect(rec.result.errorMessage).toMatch(new RegExp(`ETag [0-9a-f]{32}-10 is not the multipart ETag of the parts sent \\(${expected}\\)`));
    expect(rec.result.errorMessage).toContain('does not match the source');
    // A permanent failure: one attempt, one record, and the upload is not left open.
    expect(rec.attempts).toBe(1);
    expect(stack.devstack.stats().operations.CompleteMultipartUpload!.requests).toBe(1);
    await expectUploadGone('wrong-final.bin', enq.uploadId);
    expect((await streamRecords(enq.jobId)).own).toBe(1);
  });

  it('a bare 503 (no error code) is retried, by the client and then by the job, and the upload completes', async () => {
    stack.devstack.setFaults([{ op: 'UploadPart', times: 3, error: { status: 503, code: 'ProxyBusy', bare: true } }]);
    const { path } = await sourceFile('bare503.bin', 50 * KiB);
    const enq = await stack.producer.enqueueUpload({ source: { kind: 'file', path }, bucket: 'ingest', key: 'bare503.bin', partSize: PART });
    const rec = await stack.producer.waitForResult(enq.jobId, { timeoutMs: 60_000 });
    expect(rec.result.status).toBe(200);
    const stats = stack.devstack.stats().operations.UploadPart!;
    expect(stats.faults.error).toBe(3);
    expect(stats.requests).toBe(4);
    // The client tries three times per attempt, so the third 503 ended the job's first attempt.
    const part = await stack.producer.getResult(`${enq.jobId}-part-1`);
    expect(part?.attempts).toBe(2);
    expect(await sha256Object(stack.storage, 'ingest', 'bare503.bin')).toBe(await sha256File(path));
  });

  it('parts read from a URL count in obsq_downloaded_bytes_total, each read once more on a retry', async () => {
    const { path, bytes } = await sourceFile('served.bin', 2 * PART + 10);
    const server: Server = createServer((req, res) => {
      const m = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? '');
      if (!m) {
        res.writeHead(200, { etag: '"v1"', 'content-length': bytes.length, 'accept-ranges': 'bytes' });
        res.end(req.method === 'HEAD' ? undefined : bytes);
        return;
      }
      const start = Number(m[1]);
      const end = Math.min(Number(m[2]), bytes.length - 1);
      res.writeHead(206, { etag: '"v1"', 'content-range': `bytes ${start}-${end}/${bytes.length}`, 'content-length': end - start + 1 });
      createReadStream(path, { start, end }).pipe(res);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/served.bin`;
    const downloaded = async () =>
      (await service.registry.getSingleMetric('obsq_downloaded_bytes_total')!.get()).values.find((v) => v.labels.queue === 'upload-part')?.value ?? 0;
    try {
      const before = await downloaded();
      const enq = await stack.producer.enqueueUpload({ source: { kind: 'url', url }, bucket: 'ingest', key: 'from-url.bin', partSize: PART });
      const rec = await stack.producer.waitForResult(enq.jobId, { timeoutMs: 60_000 });
      expect(rec.result.status).toBe(200);
      expect((await downloaded()) - before).toBe(bytes.length);
      expect(await sha256Object(stack.storage, 'ingest', 'from-url.bin')).toBe(createHash('sha256').update(bytes).digest('hex'));

      // A one-part source whose PUT fails three times (the client's attempts): the job's retry reads
      // the part from the URL again, and that read counts too.
      stack.devstack.setFaults([{ op: 'UploadPart', times: 3, error: { status: 500, code: 'InternalError' } }]);
      const mid = await downloaded();
      const small = await stack.producer.enqueueUpload({
        source: { kind: 'url', url: `${url}?small` },
        bucket: 'ingest',
        key: 'from-url-small.bin',
        partSize: 4 * PART,
      });
      const again = await stack.producer.waitForResult(small.jobId, { timeoutMs: 60_000 });
      expect(again.result.status).toBe(200);
      expect((await stack.producer.getResult(`${small.jobId}-part-1`))?.attempts).toBe(2);
      expect((await downloaded()) - mid).toBe(2 * bytes.length);
    } finally {
      await new Promise((r) => server.close(r));
    }
  });

  it('reports progress: half when the part is hashed, all of it once stored', async () => {
    const { path } = await sourceFile('progress.bin', 4 * PART);
    const prefix = `{${stack.env.OBSQ_PREFIX}}`;
    const events = new QueueEvents('upload-part', { connection: { host: '127.0.0.1', port: stack.redis.port, maxRetriesPerRequest: null }, prefix });
    const queue = new Queue('upload-part', { connection: stack.producerRedis, prefix });
    const seen = new Map<string, unknown[]>();
    events.on('progress', ({ jobId, data }) => seen.set(jobId, [...(seen.get(jobId) ?? []), data]));
    try {
      await events.waitUntilReady();
      const enq = await stack.producer.enqueueUpload({ source: { kind: 'file', path }, bucket: 'ingest', key: 'progress.bin', partSize: 4 * PART });
      expect((await stack.producer.waitForResult(enq.jobId, { timeoutMs: 60_000 })).result.status).toBe(200);
      const jobId = `${enq.jobId}-part-1`;
      // A file part is read in one chunk: one report at half (hashed), one at the end (stored).
      await waitForEvents(() => (seen.get(jobId) ?? []).length >= 2);
      expect(seen.get(jobId)).toEqual([
        { bytes: 2 * PART, total: 4 * PART },
        { bytes: 4 * PART, total: 4 * PART },
      ]);
      const job = await queue.getJob(jobId);
      expect(job?.progress).toEqual({ bytes: 4 * PART, total: 4 * PART });
    } finally {
      await events.close();
      await queue.close();
    }
  });

  it('a part whose answers were lost is found on the server by the next attempt and not sent again', async () => {
    // The client tries three times; all three PUTs are stored but their answers are cut, so the
    // job's first attempt fails; the second finds the part (right MD5 and size) with ListParts.
    stack.devstack.setFaults([{ op: 'UploadPart', times: 3, tamper: 'drop-response' }]);
    const { path, bytes } = await sourceFile('lost.bin', 60 * KiB);
    const enq = await stack.producer.enqueueUpload({ source: { kind: 'file', path }, bucket: 'ingest', key: 'lost.bin', partSize: PART });
    const rec = await stack.producer.waitForResult(enq.jobId, { timeoutMs: 60_000 });
    expect(rec.result.status).toBe(200);
    const part = await stack.producer.getResult<{ partNumber: number; etag: string; size: number; md5: string }>(`${enq.jobId}-part-1`);
    expect(part?.attempts).toBe(2);
    expect(part?.result).toMatchObject({ status: 200, reason: 'OK' });
    expect(part?.result.body).toEqual({ partNumber: 1, etag: `"${md5hex(bytes)}"`, size: 60 * KiB, md5: md5hex(bytes) });
    expect(stack.devstack.stats().operations.UploadPart!.requests).toBe(3);
    expect(stack.devstack.stats().operations.ListParts!.requests).toBe(1);
    expect(await sha256Object(stack.storage, 'ingest', 'lost.bin')).toBe(await sha256File(path));
    const queue = new Queue('upload-part', { connection: stack.producerRedis, prefix: `{${stack.env.OBSQ_PREFIX}}` });
    try {
      expect((await queue.getJob(`${enq.jobId}-part-1`))?.progress).toEqual({ bytes: 60 * KiB, total: 60 * KiB });
    } finally {
      await queue.close();
    }
  });

  it('a part found on the server with other bytes is sent again', async () => {
    // Lost answers again, but before the retry another writer replaces part 1 with other bytes.
    stack.devstack.setFaults([{ op: 'UploadPart', times: 3, tamper: 'drop-response' }]);
    const { path } = await sourceFile('replaced.bin', 60 * KiB);
    const prefix = `{${stack.env.OBSQ_PREFIX}}`;
    const parts = new Queue('upload-part', { connection: stack.producerRedis, prefix });
    try {
      const enq = await stack.producer.enqueueUpload({ source: { kind: 'file', path }, bucket: 'ingest', key: 'replaced.bin', partSize: PART });
      const jobId = `${enq.jobId}-part-1`;
      await waitForEvents(async () => (await parts.getJobState(jobId)) === 'delayed');
      // Hold the retry until the other writer is done, then let it run (no race with the backoff).
      const job = (await parts.getJob(jobId))!;
      await job.changeDelay(60_000);
      const other = randomBytes(60 * KiB);
      await stack.storage.uploadPart({ bucket: 'ingest', key: 'replaced.bin', uploadId: enq.uploadId, partNumber: 1, body: other });
      await job.promote();
      const rec = await stack.producer.waitForResult(enq.jobId, { timeoutMs: 60_000 });
      expect(rec.result.status).toBe(200);
      expect(stack.devstack.stats().operations.UploadPart!.requests).toBe(5);
      expect(await sha256Object(stack.storage, 'ingest', 'replaced.bin')).toBe(await sha256File(path));
    } finally {
      await parts.close();
    }
  });

  it('a part whose bytes no longer match the MD5 taken at enqueue fails for good with OBSQ_SOURCE_CHANGED', async () => {
    const { path, bytes } = await sourceFile('changed.bin', 10 * KiB);
    const prefix = `{${stack.env.OBSQ_PREFIX}}`;
    const up = await stack.storage.initiateMultipartUpload({ bucket: 'ingest', key: 'changed.bin' });
    const queue = new Queue('upload-part', { connection: stack.producerRedis, prefix });
    try {
      const payload = (contentMd5: string) => ({
        uploadId: up.body!.uploadId, bucket: 'ingest', key: 'changed.bin', partNumber: 1, offset: 0, size: bytes.length, totalParts: 1,
        source: { kind: 'file', path, pin: filePinOf(statSync(path, { bigint: true })) }, contentMd5,
      });
      const stale = createHash('md5').update(Buffer.from('other bytes')).digest('base64');
      await queue.add('upload-part', payload(stale), { jobId: 'md5-stale', attempts: 3 });
      const bad = await stack.producer.waitForResult('md5-stale', { timeoutMs: 30_000 });
      expect(bad.attempts).toBe(1);
      expect(bad.result).toMatchObject({
        status: 0,
        errorCode: 'OBSQ_SOURCE_CHANGED',
        errorMessage: 'source: part 1 bytes no longer match the MD5 taken at enqueue',
      });
      await queue.add('upload-part', payload(createHash('md5').update(bytes).digest('base64')), { jobId: 'md5-same', attempts: 3 });
      const good = await stack.producer.waitForResult<{ md5: string }>('md5-same', { timeoutMs: 30_000 });
      expect(good.result.body?.md5).toBe(md5hex(bytes));
      expect(stack.devstack.stats().operations.UploadPart!.requests).toBe(1);
    } finally {
      await queue.close();
      await stack.storage.abortMultipartUpload({ bucket: 'ingest', key: 'changed.bin', uploadId: up.body!.uploadId });
    }
  });

  it('a Complete whose answer was lost is recognised as done (the object is there), not failed or completed twice', async () => {
    stack.devstack.setFaults([{ op: 'CompleteMultipartUpload', times: 1, tamper: 'drop-response' }]);
    const { path, bytes } = await sourceFile('lost-complete.bin', 2 * PART);
    const enq = await stack.producer.enqueueUpload({ source: { kind: 'file', path }, bucket: 'ingest', key: 'lost-complete.bin', partSize: PART });
    const rec = await stack.producer.waitForResult<{ etag: string; size: number; parts: number; path: string }>(enq.jobId, { timeoutMs: 60_000 });
    expect(rec.result.status).toBe(200);
    expect(rec.attempts).toBe(1);
    expect(rec.result.body).toMatchObject({ size: bytes.length, parts: 2, path: 'multipart-upload' });
    expect(rec.result.body!.etag.replace(/"/g, '')).toBe(multipartEtag(partMd5s(bytes)));
    // The client re-sent the Complete once (answered NoSuchUpload: the first one had done it).
    expect(stack.devstack.stats().operations.CompleteMultipartUpload!.requests).toBe(2);
  });

  it('a Complete whose answer was lost while HEAD also failed is recognised by the next attempt', async () => {
    stack.devstack.setFaults([
      { op: 'CompleteMultipartUpload', times: 1, tamper: 'drop-response' },
      { op: 'HeadObject', times: 3, error: { status: 500, code: 'InternalError' } },
    ]);
    const { path, bytes } = await sourceFile('lost-complete-2.bin', 2 * PART);
    const enq = await stack.producer.enqueueUpload({ source: { kind: 'file', path }, bucket: 'ingest', key: 'lost-complete-2.bin', partSize: PART });
    const rec = await stack.producer.waitForResult<{ etag: string; size: number; path: string }>(enq.jobId, { timeoutMs: 60_000 });
    expect(rec.result.status).toBe(200);
    expect(rec.attempts).toBe(2);
    expect(rec.result.body).toMatchObject({ size: bytes.length, path: 'multipart-upload' });
    expect(stack.devstack.stats().operations.CompleteMultipartUpload!.requests).toBe(2);
    expect(await sha256Object(stack.storage, 'ingest', 'lost-complete-2.bin')).toBe(await sha256File(path));
  });
});

function waitForEvents(cond: () => boolean | Promise<boolean>): Promise<void> {
  return waitFor(cond, { timeoutMs: 30_000, what: 'condition' }).then(() => undefined);
}