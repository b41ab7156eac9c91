import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from './helpers/stack.js';
import { waitFor } from './helpers/waitFor.js';

// Issue 14: a job whose worker processes are killed (SIGKILL) mid-request until BullMQ fails it for
// stalling too often still ends with exactly one record, and its upload is aborted. Worker
// processes, not in-process workers: only a process can die.

const KiB = 1024;
const PART = 100 * KiB;

describe('issue 14: a worker that dies too often', () => {
  let procStack: Stack | undefined;
  afterAll(async () => {
    await procStack?.close();
  });

  it('a part whose workers are killed mid-request three times fails for stalling, and every job writes exactly one record', async () => {
    // Parts hang in the devstack until their worker is killed; lock 4 s, stall check every 2 s.
    procStack = await startStack({ minPartSize: PART, faults: [{ op: 'UploadPart', latencyMs: 600_000 }] });
    const s = procStack;
    const path = join(s.dir, 'dies.bin');
    await writeFile(path, randomBytes(50 * KiB));
    const enq = await s.producer.enqueueUpload({ source: { kind: 'file', path }, bucket: 'ingest', key: 'dies.bin', partSize: PART });
    const partRequests = () => s.devstack.stats().operations.UploadPart?.requests ?? 0;
    // maxStalledCount is 2: the third stall fails the job.
    for (let kill = 1; kill <= 3; kill++) {
      const w = await s.startWorker();
      await waitFor(() => partRequests() >= kill, { timeoutMs: 30_000, what: `part in flight in worker ${kill}` });
      w.child.kill('SIGKILL');
      await w.exited;
    }
    s.devstack.setFaults([]);
    const survivor = await s.startWorker();
    const rec = await s.producer.waitForResult(enq.jobId, { timeoutMs: 60_000 });
    expect(rec.result.status).not.toBe(200);
    expect(rec.result.errorMessage).toContain('stalled more than allowable limit');
    const part = await s.producer.getResult(`${enq.jobId}-part-1`);
    expect(part?.result.errorMessage).toContain('stalled more than allowable limit');
    expect(partRequests()).toBe(3);
    await expectUploadGoneIn(s, 'dies.bin', enq.uploadId);
    // Exactly one record each, in the store and in the stream, although four processes saw the jobs.
    await waitFor(() => survivor.output().includes('failed: stalled too often'), { what: 'stalled failure logged' });
    const entries = await s.producerRedis.xrange(s.producer.results.streamKey, '-', '+');
    const ids = entries.map(([, f]) => f[f.indexOf('jobId') + 1]);
    expect(ids.sort()).toEqual([enq.jobId, `${enq.jobId}-part-1`].sort());
  }, 120_000);
});

async function expectUploadGoneIn(s: Stack, key: string, uploadId: string): Promise<void> {
  const err = await s.storage.listAllParts({ bucket: 'ingest', key, uploadId }).then(() => undefined, (e: unknown) => e);
  expect((err as { result?: { errorCode?: string } } | undefined)?.result?.errorCode).toBe('NoSuchUpload');
}
