import http from 'node:http';
import { join } from 'node:path';
import { Producer } from '../packages/producer/src/index.js';
import { isSuccess } from '../packages/shared/src/index.js';
import { createEsdkClient, fixed, startBenchStack, writeRandomFile, type BenchReport, type BenchStack } from './lib/index.js';

const MiB = 1024 * 1024;

/** Options of {@link copyBench}. */
export interface CopyBenchOptions {
  /** Size of the source object, in MiB. @defaultValue 1024 */
  sizeMiB?: number;
  /** Part size of obsq's multipart copy, in MiB. @defaultValue 64 */
  partSizeMiB?: number;
  /** Worker processes. @defaultValue 2 */
  workers?: number;
  /** `OBSQ_CONCURRENCY_COPY_OBJECT` of each worker. @defaultValue 8 */
  concurrency?: number;
}

async function timedCopy(producer: Producer, bucket: string, key: string, partSize: number): Promise<{ seconds: number; path: string; parts: number }> {
  const started = performance.now();
  const cp = await producer.enqueueCopy({ source: { bucket, key: 'source.bin' }, target: { bucket, key }, partSize });
  const rec = await producer.waitForResult(cp.jobId, { timeoutMs: 120_000 });
  const seconds = (performance.now() - started) / 1000;
  if (!isSuccess(rec.result)) throw new Error(`obsq ${cp.path} copy failed: ${rec.result.status} ${rec.result.errorCode} ${rec.result.errorMessage}`);
  return { seconds, path: cp.path, parts: cp.parts };
}

async function esdkCopy(stack: BenchStack, bucket: string, key: string): Promise<number> {
  const agent = new http.Agent({ keepAlive: true });
  const esdk = await createEsdkClient({
    access_key_id: stack.devstack.accessKeyId,
    secret_access_key: stack.devstack.secretAccessKey,
    server: stack.devstack.endpoint,
    http_agent: agent,
    timeout: 120,
  });
  try {
    const started = performance.now();
    const res = await esdk.copyObject({ Bucket: bucket, Key: key, CopySource: `${bucket}/source.bin` });
    const seconds = (performance.now() - started) / 1000;
    if (res.CommonMsg.Status >= 300) throw new Error(`esdk copyObject failed: ${res.CommonMsg.Status} ${res.CommonMsg.Code} ${res.CommonMsg.Message}`);
    return seconds;
  } finally {
    esdk.close();
    agent.destroy();
  }
}

/**
 * Server-side copy of one object on the same devstack process: obsq's multipart copy (UploadPartCopy
 * parts run by the workers, then Complete) and, for scale, obsq's single `copy-object` job, against
 * one CopyObject sent by Huawei's `esdk-obs-nodejs` `copyObject` (the anchor).
 */
export async function copyBench(options: CopyBenchOptions = {}): Promise<BenchReport[]> {
  const sizeMiB = options.sizeMiB ?? 1024;
  const partSize = (options.partSizeMiB ?? 64) * MiB;
  const workerCount = options.workers ?? 2;
  const concurrency = options.concurrency ?? 8;
  const size = sizeMiB * MiB;
  const bucket = 'bench';

  // The stack's producer copies in parts (threshold below the object size); a second producer with
  // the default 5 GiB threshold sends the same copy as one CopyObject job.
  await using stack = await startBenchStack({ buckets: [bucket], copyThreshold: Math.min(size - 1, partSize) });
  const single = new Producer({ redis: stack.redis, prefix: stack.prefix, storage: stack.storage, minPartSize: MiB, logger: stack.logger });
  try {
    const path = join(stack.dir, 'source.bin');
    await writeRandomFile(path, size);
    const put = await stack.storage.putObject({ bucket, key: 'source.bin', body: { path, start: 0, length: size } });
    if (!isSuccess(put)) throw new Error(`seeding the source failed: ${put.status} ${put.errorCode}`);
    await stack.startWorkers(workerCount, { OBSQ_CONCURRENCY_COPY_OBJECT: String(concurrency) });

    const anchorSeconds = await esdkCopy(stack, bucket, 'esdk/copy.bin');
    const multi = await timedCopy(stack.producer, bucket, 'obsq/multipart.bin', partSize);
    const one = await timedCopy(single, bucket, 'obsq/single.bin', partSize);
    if (multi.path !== 'multipart' || one.path !== 'single') throw new Error(`unexpected copy paths ${multi.path}/${one.path}`);

    const heads = await Promise.all(['esdk/copy.bin', 'obsq/multipart.bin', 'obsq/single.bin'].map((key) => stack.storage.headObject({ bucket, key })));
    const sizesOk = heads.every((h) => h.body?.contentLength === size);
    const rate = (s: number) => fixed(sizeMiB / s);
    return [
      {
        name: 'copy: server-side copy',
        setup: `${sizeMiB} MiB object on the devstack; obsq ${workerCount} workers × ${concurrency} copy slots; one run each.`,
        columns: ['seconds', 'MiB/s', 'ratio to anchor (time)'],
        rows: [
          { label: `obsq multipart copy (${multi.parts} × ${partSize / MiB} MiB UploadPartCopy + Complete)`, cells: [fixed(multi.seconds, 2), rate(multi.seconds), fixed(multi.seconds / anchorSeconds, 2)] },
          { label: 'obsq single copy-object job (one CopyObject)', cells: [fixed(one.seconds, 2), rate(one.seconds), fixed(one.seconds / anchorSeconds, 2)] },
          { label: 'anchor: esdk-obs-nodejs copyObject', cells: [fixed(anchorSeconds, 2), rate(anchorSeconds), '1.00'] },
        ],
        notes: [
          'ratio is obsq seconds / anchor seconds: above 1 means obsq took longer',
          `all three targets ${sizesOk ? `are ${sizeMiB} MiB` : 'DO NOT all have the source size: check the run'}`,
        ],
      },
    ];
  } finally {
    await single.close();
  }
}
