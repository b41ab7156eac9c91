import { createServer, type Server } from 'node:http';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat, truncate, writeFile, appendFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { afterEach, describe, expect, it } from 'vitest';
import { multipartEtag } from '@obsq/worker';
import { sha256File, sha256Object, startStack, type Stack } from './helpers/stack.js';
import { waitFor } from './helpers/waitFor.js';

const MiB = 1024 * 1024;

async function writeRandomFile(path: string, size: number): Promise<void> {
  await writeFile(path, Buffer.alloc(0));
  for (let left = size; left > 0; left -= 4 * MiB) await appendFile(path, randomBytes(Math.min(4 * MiB, left)));
}

function partMd5s(buf: Buffer, partSize: number): string[] {
  const out: string[] = [];
  for (let o = 0; o < buf.length; o += partSize) out.push(createHash('md5').update(buf.subarray(o, o + partSize)).digest('hex'));
  return out;
}

async function expectNoUpload(stack: Stack, bucket: string, key: string, uploadId: string) {
  const err = await stack.storage.listAllParts({ bucket, key, uploadId }).then(() => undefined, (e: unknown) => e);
  expect((err as { result?: { errorCode?: string } }).result?.errorCode).toBe('NoSuchUpload');
}

async function expectNothingPending(stack: Stack) {
  const prefix = `{${stack.env.OBSQ_PREFIX}}`;
  for (const name of ['upload-part', 'complete-multipart']) {
    const q = new Queue(name, { connection: stack.producerRedis, prefix });
    const counts = await q.getJobCounts('waiting', 'active', 'delayed', 'waiting-children');
    await q.close();
    expect(counts, name).toEqual({ waiting: 0, active: 0, delayed: 0, 'waiting-children': 0 });
  }
}

let stack: Stack | undefined;
afterEach(async () => {
  await stack?.close();
  stack = undefined;
});

describe('multipart ingestion across worker processes', () => {
  it('3 workers upload 64 MiB in 1 MiB parts; bytes and multipart ETag match', async () => {
    stack = await startStack({ workers: 3 });
    const path = join(stack.dir, 'big.bin');
    await writeRandomFile(path, 64 * MiB);
    const enq = await stack.producer.enqueueUpload({ source: { kind: 'file', path }, bucket: 'ingest', key: 'big/one.bin', partSize: '1MiB' });
    expect(enq).toMatchObject({ parts: 64, size: 64 * MiB, created: true });
    const rec = await stack.producer.waitForResult<{ etag: string; size: number; parts: number }>(enq.jobId, { timeoutMs: 120_000 });
    expect(rec.result.status).toBe(200);
    expect(rec.result.errorCode).toBe('');
    expect(rec.result.body).toMatchObject({ bucket: 'ingest', key: 'big/one.bin', size: 64 * MiB, parts: 64 });
    const { readFile } = await import('node:fs/promises');
    const expected = multipartEtag(partMd5s(await readFile(path), MiB));
    expect(rec.result.body!.etag.replace(/"/g, '')).toBe(expected);
    expect(await sha256Object(stack.storage, 'ingest', 'big/one.bin')).toBe(await sha256File(path));
    // Totals, whoever ran what (which worker gets how many parts is up to the scheduler): each of
    // the 64 parts completed exactly once across the workers and left exactly one record.
    const completions = stack.workers.map((w) => w.output().split('(upload-part) completed').length - 1);
    expect(completions.reduce((a, b) => a + b, 0)).toBe(64);
    const partRecords = (await stack.producerRedis.xrange(stack.producer.results.streamKey, '-', '+')).filter(
      ([, f]) => f[f.indexOf('parentId') + 1] === enq.jobId,
    );
    expect(new Set(partRecords.map(([, f]) => f[f.indexOf('jobId') + 1])).size).toBe(64);
    expect(partRecords).toHaveLength(64);
    const part7 = await stack.producer.getResult<{ partNumber: number; size: number }>(`${enq.jobId}-part-7`);
    expect(part7?.result.body).toMatchObject({ partNumber: 7, size: MiB });
    // Re-enqueueing the same job id is idempotent.
    const again = await stack.producer.enqueueUpload({ source: { kind: 'file', path }, bucket: 'ingest', key: 'big/one.bin', jobId: enq.jobId });
    expect(again).toMatchObject({ jobId: enq.jobId, uploadId: enq.uploadId, created: false });
    // The results stream carries the upload's record for downstream consumers.
    const entries = await stack.producerRedis.xrange(stack.producer.results.streamKey, '-', '+');
    expect(entries.filter(([, f]) => f[1] === enq.jobId)).toHaveLength(1);
    await expectNothingPending(stack);
  });

  it('retries injected 503 SlowDown and connection resets per part, and completes', async () => {
    stack = await startStack({
      workers: 2,
      faults: [
        { op: 'UploadPart', rate: 0.2, error: { status: 503, code: 'SlowDown' } },
        { op: 'UploadPart', rate: 0.05, reset: { afterBytes: 1000 } },
      ],
    });
    const path = join(stack.dir, 'faulty.bin');
    await writeRandomFile(path, 24 * MiB);
    const enq = await stack.producer.enqueueUpload({ source: { kind: 'file', path }, bucket: 'ingest', key: 'faulty.bin', partSize: MiB });
    const rec = await stack.producer.waitForResult<{ size: number }>(enq.jobId, { timeoutMs: 180_000 });
    expect(rec.result.status).toBe(200);
    expect(rec.result.body!.size).toBe(24 * MiB);
    expect(await sha256Object(stack.storage, 'ingest', 'faulty.bin')).toBe(await sha256File(path));
    const stats = stack.devstack.stats().operations.UploadPart!;
    expect(stats.faults.error + stats.faults.reset).toBeGreaterThan(0);
    expect(stats.requests).toBeGreaterThan(24);
    console.log(`UploadPart requests ${stats.requests} for 24 parts; injected ${stats.faults.error} errors, ${stats.faults.reset} resets`);
  });

  it('a worker killed with SIGKILL mid-upload: another worker finishes its parts', async () => {
    stack = await startStack({ workers: 1, faults: [{ op: 'UploadPart', latencyMs: 300 }] });
    const path = join(stack.dir, 'kill.bin');
    await writeRandomFile(path, 16 * MiB);
    const victim = stack.workers[0]!;
    const enq = await stack.producer.enqueueUpload({ source: { kind: 'file', path }, bucket: 'ingest', key: 'kill.bin', partSize: MiB });
    await waitFor(() => victim.output().includes('(upload-part) completed'), { what: 'first part done' });
    victim.child.kill('SIGKILL');
    await victim.exited;
    await stack.startWorker();
    const rec = await stack.producer.waitForResult(enq.jobId, { timeoutMs: 120_000 });
    expect(rec.result.status).toBe(200);
    expect(await sha256Object(stack.storage, 'ingest', 'kill.bin')).toBe(await sha256File(path));
  });

  it('wrong secret: parent fails fast with SignatureDoesNotMatch, abort attempted, nothing left waiting', async () => {
    stack = await startStack({ workers: 0 });
    await stack.startWorker({ OBSQ_OBS_SECRET_ACCESS_KEY: 'wrong-secret-wrong-secret' });
    const path = join(stack.dir, 'secret.bin');
    await writeRandomFile(path, 8 * MiB);
    const enq = await stack.producer.enqueueUpload({ source: { kind: 'file', path }, bucket: 'ingest', key: 'secret.bin', partSize: MiB });
    const t0 = Date.now();
    const rec = await stack.producer.waitForResult(enq.jobId, { timeoutMs: 60_000 });
    expect(Date.now() - t0).toBeLessThan(30_000);
    expect(rec.result.status).toBe(403);
    expect(rec.result.errorCode).toBe('SignatureDoesNotMatch');
    expect(rec.result.body).toBeNull();
    // The worker tried to abort, but with a wrong secret nothing it sends is accepted: the attempt
    // is logged, and an operator with valid credentials finishes the clean-up.
    expect(stack.workers[0]!.output()).toMatch(/abort multipart upload failed/);
    expect(rec.result.errorMessage).toMatch(/NOT aborted \(AbortMultipartUpload answered HTTP 403 SignatureDoesNotMatch\): abort it with valid credentials/);
    await stack.storage.abortMultipartUpload({ bucket: 'ingest', key: 'secret.bin', uploadId: enq.uploadId });
    await expectNoUpload(stack, 'ingest', 'secret.bin', enq.uploadId);
    await waitFor(async () => {
      await expectNothingPending(stack!);
      return true;
    }, { what: 'queues empty' });
  });

  it('bucket deleted after initiate: NoSuchBucket in the record, no job stuck', async () => {
    stack = await startStack({ workers: 0, buckets: ['ingest', 'doomed'] });
    const path = join(stack.dir, 'doomed.bin');
    await writeRandomFile(path, 4 * MiB);
    const enq = await stack.producer.enqueueUpload({ source: { kind: 'file', path }, bucket: 'doomed', key: 'x.bin', partSize: MiB });
    await stack.storage.abortMultipartUpload({ bucket: 'doomed', key: 'x.bin', uploadId: enq.uploadId });
    await stack.storage.deleteBucket({ bucket: 'doomed' });
    await stack.startWorker();
    const rec = await stack.producer.waitForResult(enq.jobId, { timeoutMs: 60_000 });
    expect(rec.result.status).toBe(404);
    expect(rec.result.errorCode).toMatch(/^NoSuch(Bucket|Upload)$/);
    await waitFor(async () => {
      await expectNothingPending(stack!);
      return true;
    }, { what: 'queues empty' });
  });

  it('URL source with Range; a source that changes mid-upload fails clearly and is aborted', async () => {
    stack = await startStack({ workers: 1, faults: [{ op: 'UploadPart', latencyMs: 150 }] });
    const path = join(stack.dir, 'served.bin');
    await writeRandomFile(path, 6 * MiB);
    let version = 'v1';
    const server: Server = createServer(async (req, res) => {
      const size = (await stat(path)).size;
      const etag = `"${version}"`;
      const m = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? '');
      const ifRange = req.headers['if-range'];
      if (!m || (ifRange && ifRange !== etag)) {
        res.writeHead(200, { etag, 'content-length': size, 'accept-ranges': 'bytes' });
        createReadStream(path).pipe(res);
        return;
      }
      const start = Number(m[1]);
      const end = Math.min(Number(m[2]), size - 1);
      res.writeHead(206, { etag, 'content-range': `bytes ${start}-${end}/${size}`, 'content-length': end - start + 1 });
      createReadStream(path, { start, end }).pipe(res);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/served.bin`;
    try {
      const ok = await stack.producer.enqueueUpload({ source: { kind: 'url', url }, bucket: 'ingest', key: 'from-url.bin', partSize: MiB });
      const rec = await stack.producer.waitForResult(ok.jobId, { timeoutMs: 60_000 });
      expect(rec.result.status).toBe(200);
      expect(await sha256Object(stack.storage, 'ingest', 'from-url.bin')).toBe(await sha256File(path));

      const changing = await stack.producer.enqueueUpload({ source: { kind: 'url', url }, bucket: 'ingest', key: 'changed.bin', partSize: MiB });
      version = 'v2';
      await truncate(path, 5 * MiB);
      const bad = await stack.producer.waitForResult(changing.jobId, { timeoutMs: 60_000 });
      expect(bad.result.status).not.toBe(200);
      expect(bad.result.errorMessage).toMatch(/changed/);
    expect(bad.result.errorMessage).toMatch(/aborted$/);
      await expectNoUpload(stack, 'ingest', 'changed.bin', changing.uploadId);
    } finally {
      await new Promise((r) => server.close(r));
    }
  });
});
