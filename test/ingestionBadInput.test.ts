import { symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from './helpers/stack.js';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ workers: 1 });
});
afterAll(async () => {
  await stack?.close();
});

async function rejection(p: Promise<unknown>): Promise<Error & { code?: string }> {
  return p.then(
    () => {
      throw new Error('expected a rejection');
    },
    (e: unknown) => e as Error & { code?: string },
  );
}

describe('bad input gets a clear error naming the field and the rule', () => {
  it.each([
    ['ab', /bucket: .*3 to 63/],
    ['My_Bucket', /bucket: .*lowercase/],
    ['192.168.1.1', /bucket: .*IP address/],
    ['my..bucket', /bucket: .*adjacent/],
    ['my-.bucket', /bucket: .*period next to a hyphen|bucket: .*next to/],
  ])('bucket %j is refused at enqueue', async (bucket, rule) => {
    const path = join(stack.dir, 'small.bin');
    await writeFile(path, 'x');
    const err = await rejection(stack.producer.enqueueUpload({ source: { kind: 'file', path }, bucket, key: 'k' }));
    expect(err.code).toBe('OBSQ_VALIDATION');
    expect(err.message).toMatch(rule);
  });

  it('key longer than 1024 UTF-8 bytes, part size out of range, missing file', async () => {
    const path = join(stack.dir, 'small.bin');
    await writeFile(path, 'x');
    const long = await rejection(stack.producer.enqueueUpload({ source: { kind: 'file', path }, bucket: 'ingest', key: 'é'.repeat(513) }));
    expect(long.message).toMatch(/key: .*1024/);
    const tiny = await rejection(stack.producer.enqueueUpload({ source: { kind: 'file', path }, bucket: 'ingest', key: 'k', partSize: 1000 }));
    expect(tiny.message).toMatch(/partSize: .*at least/);
    const huge = await rejection(stack.producer.enqueueUpload({ source: { kind: 'file', path }, bucket: 'ingest', key: 'k', partSize: '6GiB' }));
    expect(huge.message).toMatch(/partSize: /);
    const missing = await rejection(stack.producer.enqueueUpload({ source: { kind: 'file', path: join(stack.dir, 'nope.bin') }, bucket: 'ingest', key: 'k' }));
    expect(missing.message).toMatch(/source.path: cannot read/);
  });

  it('a file outside OBSQ_SOURCE_ROOTS (symlink escape) fails permanently after one attempt', async () => {
    const outside = join(tmpdir(), `obsq-outside-${process.pid}.bin`);
    await writeFile(outside, 'secret bytes');
    const link = join(stack.dir, 'escape.bin');
    await symlink(outside, link);
    const enq = await stack.producer.enqueueUpload({ source: { kind: 'file', path: link }, bucket: 'ingest', key: 'escape.bin' });
    const rec = await stack.producer.waitForResult(enq.jobId, { timeoutMs: 30_000 });
    expect(rec.result.errorMessage).toMatch(/outside OBSQ_SOURCE_ROOTS/);
    const part = await stack.producer.getResult(`${enq.jobId}-part-1`);
    expect(part?.attempts).toBe(1);
    expect(part?.result.errorCode).toBe('OBSQ_SOURCE_FORBIDDEN');
  });

  it('a malformed payload written straight into Redis: one record naming the fields, no retries, worker alive', async () => {
    const prefix = `{${stack.env.OBSQ_PREFIX}}`;
    const q = new Queue('upload-part', { connection: stack.producerRedis, prefix });
    await q.add('upload-part', { bucket: 'BAD', partNumber: 0, size: -1 }, { jobId: 'evil-1', attempts: 10 });
    await q.close();
    const rec = await stack.producer.waitForResult('evil-1', { timeoutMs: 30_000 });
    expect(rec.attempts).toBe(1);
    expect(rec.result.errorCode).toBe('OBSQ_VALIDATION');
    expect(rec.result.errorMessage).toMatch(/bucket/);
    expect(rec.result.errorMessage).toMatch(/partNumber/);
    expect(stack.workers[0]!.child.exitCode).toBeNull();
  });
});
