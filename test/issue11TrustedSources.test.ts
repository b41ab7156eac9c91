import { spawn } from 'node:child_process';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { link, mkdir, open, rename, symlink, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { afterEach, describe, expect, it } from 'vitest';
import { startStack, type Stack } from './helpers/stack.js';
import { waitFor } from './helpers/waitFor.js';

// Issue 11: no read outside OBSQ_SOURCE_ROOTS even under races, and no object of mixed versions.
const MiB = 1024 * 1024;

let stack: Stack | undefined;
afterEach(async () => {
  await stack?.close();
  stack = undefined;
});

/** Nothing is left behind: no multipart upload open, no job waiting or active. */
async function expectNothingLeft(s: Stack, bucket: string): Promise<void> {
  expect(await s.storage.listAllMultipartUploads({ bucket })).toEqual([]);
  const prefix = `{${s.env.OBSQ_PREFIX}}`;
  await waitFor(
    async () => {
      for (const name of ['upload-part', 'complete-multipart']) {
        const q = new Queue(name, { connection: s.producerRedis, prefix });
        const counts = await q.getJobCounts('waiting', 'active', 'delayed', 'waiting-children');
        await q.close();
        if (Object.values(counts).some((n) => n > 0)) return false;
      }
      return true;
    },
    { what: 'no job waiting, active, delayed or waiting for children' },
  );
}

describe('issue 11: trustworthy file sources', () => {
  it('uploads racing a directory/symlink swap inside the root store 0 bytes from outside', async () => {
    stack = await startStack({ workers: 1 });
    const outside = join(stack.dir, '..', `${stack.env.OBSQ_PREFIX}-outside`);
    await mkdir(outside, { recursive: true });
    const N = 60;
    const size = 4096;
    await mkdir(join(stack.dir, 'd'));
    for (let i = 0; i < N; i++) {
      await writeFile(join(stack.dir, 'd', `f${i}.bin`), Buffer.alloc(size, 'I'));
      await writeFile(join(outside, `f${i}.bin`), Buffer.alloc(size, 'O'));
    }
    await symlink(outside, join(stack.dir, 'evil'));
    // Another process swaps two names in a loop: root/d is alternately the real directory and a
    // symlink to outside/ (renameat2 RENAME_EXCHANGE is not in Node; four renames do the same).
    const script = `
      const { renameSync } = require('node:fs');
      const [d, real, evil] = process.argv.slice(1);
      process.stdout.write('swapping\\n');
      for (;;) { renameSync(d, real); renameSync(evil, d); renameSync(d, evil); renameSync(real, d); }`;
    const swapper = spawn(process.execPath, ['-e', script, join(stack.dir, 'd'), join(stack.dir, 'real'), join(stack.dir, 'evil')], {
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    const swapperExited = new Promise((r) => swapper.once('exit', r));
    const jobIds: string[] = [];
    try {
      await new Promise((r) => swapper.stdout.once('data', r));
      for (let i = 0; i < N; i++) {
        // The producer's own stat races too (the path may be missing for a moment): try again.
        const enq = await waitFor(
          () => stack!.producer.enqueueUpload({ source: { kind: 'file', path: join(stack!.dir, 'd', `f${i}.bin`) }, bucket: 'ingest', key: `race/f${i}.bin` }),
          { intervalMs: 1, what: `enqueue f${i}` },
        );
        jobIds.push(enq.jobId);
      }
      const outcomes = { ok: 0, refused: 0, outsideBytes: 0 };
      for (const [i, jobId] of jobIds.entries()) {
        const rec = await stack.producer.waitForResult(jobId, { timeoutMs: 60_000 });
        if (rec.result.status === 200) {
          outcomes.ok++;
          const got = await stack.storage.getObject({ bucket: 'ingest', key: `race/f${i}.bin` });
          for await (const chunk of got.body!.response) outcomes.outsideBytes += (chunk as Buffer).filter((b) => b === 0x4f).length;
        } else {
          expect(['OBSQ_SOURCE_FORBIDDEN', 'OBSQ_SOURCE_CHANGED', 'OBSQ_SOURCE'], rec.result.errorMessage).toContain(rec.result.errorCode);
          outcomes.refused++;
        }
      }
      console.log(`symlink-swap race: ${outcomes.ok} uploaded from inside, ${outcomes.refused} refused, ${outcomes.outsideBytes} outside bytes stored`);
      expect(outcomes.outsideBytes).toBe(0);
      expect(outcomes.ok + outcomes.refused).toBe(N);
      expect(outcomes.refused).toBeGreaterThan(0);
    } finally {
      swapper.kill('SIGKILL');
      await swapperExited;
    }
    await expectNothingLeft(stack, 'ingest');
  });

  it('a hard link inside the root to an outside file is refused; OBSQ_SOURCE_HARDLINKS=allow reads it', async () => {
    stack = await startStack({ workers: 1 });
    const outside = join(stack.dir, '..', `${stack.env.OBSQ_PREFIX}-hard.bin`);
    await writeFile(outside, 'outside secret');
    const path = join(stack.dir, 'hard.bin');
    await link(outside, path);
    const enq = await stack.producer.enqueueUpload({ source: { kind: 'file', path }, bucket: 'ingest', key: 'hard.bin' });
    const rec = await stack.producer.waitForResult(enq.jobId, { timeoutMs: 30_000 });
    expect(rec.result.errorCode).toBe('OBSQ_SOURCE_FORBIDDEN');
    expect(rec.result.errorMessage).toMatch(/2 hard links/);
    expect(rec.result.errorMessage).toMatch(/aborted/);
    expect(await stack.storage.listAllObjects({ bucket: 'ingest' })).toEqual([]);
    await expectNothingLeft(stack, 'ingest');

    stack.workers[0]!.child.kill('SIGTERM');
    await stack.workers[0]!.exited;
    await stack.startWorker({ OBSQ_SOURCE_HARDLINKS: 'allow' });
    const again = await stack.producer.enqueueUpload({ source: { kind: 'file', path }, bucket: 'ingest', key: 'hard.bin' });
    expect((await stack.producer.waitForResult(again.jobId, { timeoutMs: 30_000 })).result.status).toBe(200);
  });

  it('a file edited in place during its upload: record OBSQ_SOURCE_CHANGED, upload aborted, no object', async () => {
    stack = await startStack({ workers: 0, faults: [{ op: 'UploadPart', latencyMs: 300 }] });
    await stack.startWorker({ OBSQ_CONCURRENCY_UPLOAD_PART: '1' });
    const path = join(stack.dir, 'edited.bin');
    await writeFile(path, randomBytes(12 * MiB));
    const enq = await stack.producer.enqueueUpload({ source: { kind: 'file', path }, bucket: 'ingest', key: 'edited.bin', partSize: MiB });
    await waitFor(() => stack!.workers[0]!.output().includes('(upload-part) completed'), { what: 'first part uploaded' });
    const fh = await open(path, 'r+');
    await fh.write(Buffer.from('edited in place'), 0, 15, 11 * MiB);
    await fh.close();
    // A coarse file-system clock could keep the old mtime for a write within the same tick.
    await utimes(path, new Date(), new Date(Date.now() + 2000));
    const rec = await stack.producer.waitForResult(enq.jobId, { timeoutMs: 60_000 });
    expect(rec.result.errorCode).toBe('OBSQ_SOURCE_CHANGED');
    expect(rec.result.errorMessage).toMatch(/changed since enqueue/);
    expect(rec.result.errorMessage).toMatch(/aborted/);
    expect(await stack.storage.listAllObjects({ bucket: 'ingest' })).toEqual([]);
    await expectNothingLeft(stack, 'ingest');
  });

  it('a file replaced after enqueue (same size, new inode) fails before any byte is sent', async () => {
    stack = await startStack({ workers: 0 });
    const path = join(stack.dir, 'replaced.bin');
    await writeFile(path, Buffer.alloc(2 * MiB, 1));
    const enq = await stack.producer.enqueueUpload({ source: { kind: 'file', path }, bucket: 'ingest', key: 'replaced.bin', partSize: MiB });
    await writeFile(`${path}.new`, Buffer.alloc(2 * MiB, 2));
    await rename(`${path}.new`, path);
    await stack.startWorker();
    const rec = await stack.producer.waitForResult(enq.jobId, { timeoutMs: 30_000 });
    expect(rec.result.errorCode).toBe('OBSQ_SOURCE_CHANGED');
    expect(rec.result.errorMessage).toMatch(/replaced/);
    await expectNothingLeft(stack, 'ingest');
  });
});

/** A loopback http server for URL sources, closed by the caller. */
async function serve(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<{ url: string; close(): Promise<void> }> {
  const server = createServer(handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: async () => {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
}

describe('issue 11: trustworthy URL sources', () => {
  it('an origin that ignores If-Range and serves a new version mid-upload: OBSQ_SOURCE_CHANGED, upload aborted', async () => {
    stack = await startStack({ workers: 0, faults: [{ op: 'UploadPart', latencyMs: 300 }] });
    await stack.startWorker({ OBSQ_CONCURRENCY_UPLOAD_PART: '1' });
    let version = Buffer.alloc(6 * MiB, 1);
    let etag = '"v1"';
    const origin = await serve((req, res) => {
      // Ignores If-Range on purpose: always 206 from whatever version it has now.
      const [, a, b] = /bytes=(\d+)-(\d+)/.exec(String(req.headers.range)) ?? [];
      const start = Number(a);
      const end = Math.min(Number(b), version.length - 1);
      res.writeHead(206, { etag, 'content-range': `bytes ${start}-${end}/${version.length}`, 'content-length': String(end - start + 1) });
      res.end(version.subarray(start, end + 1));
    });
    try {
      const enq = await stack.producer.enqueueUpload({ source: { kind: 'url', url: `${origin.url}/f.bin` }, bucket: 'ingest', key: 'ifrange.bin', partSize: MiB });
      await waitFor(() => stack!.workers[0]!.output().includes('(upload-part) completed'), { what: 'first part uploaded' });
      version = Buffer.alloc(6 * MiB, 2);
      etag = '"v2"';
      const rec = await stack.producer.waitForResult(enq.jobId, { timeoutMs: 60_000 });
      expect(rec.result.errorCode).toBe('OBSQ_SOURCE_CHANGED');
      expect(rec.result.errorMessage).toMatch(/ETag was "v1", now "v2"/);
      expect(rec.result.errorMessage).toMatch(/aborted/);
      await expectNothingLeft(stack, 'ingest');
    } finally {
      await origin.close();
    }
  });

  it('metadata and link-local URLs are refused at enqueue and, written raw into Redis, by the worker', async () => {
    stack = await startStack({ workers: 1 });
    const enq = stack.producer.enqueueUpload({ source: { kind: 'url', url: 'http://169.254.169.254/latest/meta-data/iam' }, bucket: 'ingest', key: 'm' });
    await expect(enq).rejects.toMatchObject({ code: 'OBSQ_URL_FORBIDDEN', message: expect.stringMatching(/^source\.url: address 169\.254\.169\.254 .*link-local/) });
    const signed = stack.producer.enqueueUpload({ source: { kind: 'url', url: 'http://127.0.0.1:9/f?X-Goog-Signature=abc' }, bucket: 'ingest', key: 's' });
    await expect(signed).rejects.toMatchObject({ code: 'OBSQ_VALIDATION', message: expect.stringMatching(/"X-Goog-Signature" looks like a credential/) });

    const prefix = `{${stack.env.OBSQ_PREFIX}}`;
    const q = new Queue('upload-part', { connection: stack.producerRedis, prefix });
    const payload = {
      uploadId: 'u-1',
      bucket: 'ingest',
      key: 'meta.bin',
      partNumber: 1,
      offset: 0,
      size: 10,
      totalParts: 1,
      source: { kind: 'url', url: 'http://[fd00:ec2::254]/latest/meta-data/', size: 10, etag: '"x"' },
    };
    await q.add('upload-part', payload, { jobId: 'raw-meta', attempts: 10 });
    await q.close();
    const rec = await stack.producer.waitForResult('raw-meta', { timeoutMs: 30_000 });
    expect(rec.attempts).toBe(1);
    expect(rec.result.errorCode).toBe('OBSQ_URL_FORBIDDEN');
    expect(rec.result.errorMessage).toMatch(/unique local/);
  });

  it('a transcription download larger than OBSQ_AUDIO_MAX_BYTES stops there with OBSQ_SOURCE_TOO_LARGE', async () => {
    stack = await startStack({ workers: 0 });
    await stack.startWorker({ OBSQ_AUDIO_MAX_BYTES: '64KiB' });
    let sent = 0;
    const origin = await serve((_req, res) => {
      // No Content-Length: the cap must hold while streaming, not only on the header.
      res.writeHead(200, { 'content-type': 'audio/wav' });
      const chunk = Buffer.alloc(16 * 1024);
      const pump = () => {
        while (sent < 64 * MiB && res.write(chunk)) sent += chunk.length;
        if (sent < 64 * MiB) res.once('drain', pump);
        else res.end();
      };
      pump();
    });
    try {
      const enq = await stack.producer.enqueueTranscription({
        audio: { kind: 'url', url: `${origin.url}/endless.wav` },
        request: { audioFormat: 'pcm16k16bit', property: 'english_16k_common' },
        engine: 'local',
      });
      const rec = await stack.producer.waitForResult(enq.jobId, { timeoutMs: 30_000 });
      expect(rec.result.errorCode).toBe('OBSQ_SOURCE_TOO_LARGE');
      expect(rec.result.errorMessage).toMatch(/OBSQ_AUDIO_MAX_BYTES \(65536 bytes\)/);
      expect(sent).toBeLessThan(64 * MiB);
    } finally {
      await origin.close();
    }
  });
});

describe('issue 11: aborts and log fields', () => {
  it('an abort answered with 500 is retried with backoff; when it never succeeds the record says what failed', async () => {
    stack = await startStack({ workers: 1 });
    const outside = join(stack.dir, '..', `${stack.env.OBSQ_PREFIX}-abort.bin`);
    await writeFile(outside, 'x');
    const path = join(stack.dir, 'linked.bin');
    await link(outside, path); // refused by the worker, which makes the parent abort

    // Five 500s: the storage client's own three attempts, then a second round that succeeds.
    stack.devstack.setFaults([{ op: 'AbortMultipartUpload', times: 5, error: { status: 500, code: 'InternalError' } }]);
    const first = await stack.producer.enqueueUpload({ source: { kind: 'file', path }, bucket: 'ingest', key: 'abort-1.bin' });
    const rec1 = await stack.producer.waitForResult(first.jobId, { timeoutMs: 60_000 });
    expect(rec1.result.errorCode).toBe('OBSQ_SOURCE_FORBIDDEN');
    expect(rec1.result.errorMessage).toMatch(/upload .* aborted$/);
    expect(stack.devstack.stats().operations.AbortMultipartUpload!.requests).toBeGreaterThanOrEqual(6);
    expect(await stack.storage.listAllMultipartUploads({ bucket: 'ingest' })).toEqual([]);

    stack.devstack.setFaults([{ op: 'AbortMultipartUpload', error: { status: 500, code: 'InternalError' } }]);
    const second = await stack.producer.enqueueUpload({ source: { kind: 'file', path }, bucket: 'ingest', key: 'abort-2.bin' });
    const rec2 = await stack.producer.waitForResult(second.jobId, { timeoutMs: 90_000 });
    expect(rec2.result.errorMessage).toMatch(/NOT aborted \(AbortMultipartUpload answered HTTP 500 InternalError\)/);
    expect(rec2.result.errorMessage).not.toMatch(/credentials/);
    stack.devstack.setFaults([]);
    await stack.storage.abortMultipartUpload({ bucket: 'ingest', key: 'abort-2.bin', uploadId: second.uploadId });
    await expectNothingLeft(stack, 'ingest');
  });

  it('a 10 MiB key in a raw payload: the record and the log line stay small, the worker keeps serving', async () => {
    stack = await startStack({ workers: 1 });
    const prefix = `{${stack.env.OBSQ_PREFIX}}`;
    const q = new Queue('upload-part', { connection: stack.producerRedis, prefix });
    const huge = 'k'.repeat(10 * MiB);
    await q.add('upload-part', { uploadId: huge, bucket: huge, key: huge, partNumber: 1, offset: 0, size: 1, totalParts: 1, source: { kind: 'file', path: `/${huge}/../x`, pin: { size: 1, mtimeMs: 1, ino: '1', dev: '1' } } }, { jobId: 'huge-key', attempts: 3 });
    await q.close();
    const rec = await stack.producer.waitForResult('huge-key', { timeoutMs: 30_000 });
    expect(rec.result.errorCode).toBe('OBSQ_VALIDATION');
    expect(rec.result.errorMessage.length).toBeLessThan(16 * 1024);
    // The path rule quotes the path (twice): capped, with its length noted.
    expect(rec.result.errorMessage).toMatch(/source\.path: must be normalised.*truncated, \d+ chars/);
    const lines = stack.workers[0]!.output().split('\n');
    expect(Math.max(...lines.map((l) => l.length))).toBeLessThan(64 * 1024);
    // Still serving: an ordinary upload completes.
    const path = join(stack.dir, 'after.bin');
    await writeFile(path, 'still here');
    const ok = await stack.producer.enqueueUpload({ source: { kind: 'file', path }, bucket: 'ingest', key: 'after.bin' });
    expect((await stack.producer.waitForResult(ok.jobId, { timeoutMs: 30_000 })).result.status).toBe(200);
  });
});
