import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256File, sha256Object, startStack, type Stack } from './helpers/stack.js';

const MiB = 1024 * 1024;
let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ workers: 2, redisCluster: true });
});
afterAll(async () => {
  await stack?.close();
});

describe('on Redis Cluster (3 masters, hash-tagged prefix)', () => {
  it('an upload flow and a copy run across workers; records and the results stream live in one slot', async () => {
    const path = join(stack.dir, 'cluster.bin');
    await writeFile(path, randomBytes(6 * MiB));
    const up = await stack.producer.enqueueUpload({ source: { kind: 'file', path }, bucket: 'ingest', key: 'cluster.bin', partSize: MiB });
    const rec = await stack.producer.waitForResult(up.jobId, { timeoutMs: 60_000 });
    expect(rec.result.status).toBe(200);
    expect(await sha256Object(stack.storage, 'ingest', 'cluster.bin')).toBe(await sha256File(path));
    const cp = await stack.producer.enqueueCopy({ source: { bucket: 'ingest', key: 'cluster.bin' }, target: { bucket: 'ingest', key: 'cluster-copy.bin' } });
    expect((await stack.producer.waitForResult(cp.jobId, { timeoutMs: 60_000 })).result.status).toBe(200);
    // Every key of every queue shares the {prefix} hash tag, so one slot holds them all.
    const slots = new Set<number>();
    for (const key of [stack.producer.results.streamKey, stack.producer.results.key(up.jobId), `{${stack.env.OBSQ_PREFIX}}:upload-part:id`]) {
      slots.add((await stack.producerRedis.call('CLUSTER', 'KEYSLOT', key)) as number);
    }
    expect(slots.size).toBe(1);
  });
});
