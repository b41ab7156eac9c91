import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { jobOptionsFor, parsePayload } from '../packages/shared/src/index.js';
import { bullmq, fixed, startBenchStack, writeRandomFile, type BenchReport } from './lib/index.js';

const MiB = 1024 * 1024;
const RETENTION_SECONDS = 3600;

/** Options of {@link enqueueBench}. */
export interface EnqueueBenchOptions {
  /** Uploads enqueued per obsq run. @defaultValue 200 */
  uploads?: number;
  /** Parts per upload (1 MiB each). @defaultValue 10 */
  parts?: number;
  /** Uploads in flight at once in the concurrent obsq run. @defaultValue 8 */
  inFlight?: number;
}

/** Runs `fn` over `0..n-1` with at most `limit` calls pending. */
async function pool(n: number, limit: number, fn: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, n) }, async () => {
      while (next < n) await fn(next++);
    }),
  );
}

/**
 * How fast the producer turns upload requests into BullMQ jobs: `Producer.enqueueUpload` (validate,
 * stat the file, HeadBucket, InitiateMultipartUpload, one flow of parent + parts, read-back) one at
 * a time and several in flight, against raw BullMQ `Queue.addBulk` of the same number of jobs with
 * the same payloads and options (the anchor) and, between the two, `FlowProducer.addBulk` of the
 * same flows without any storage call.
 */
export async function enqueueBench(options: EnqueueBenchOptions = {}): Promise<BenchReport[]> {
  const uploads = options.uploads ?? 200;
  const parts = options.parts ?? 10;
  const inFlight = options.inFlight ?? 8;
  const jobsPerRun = uploads * (parts + 1);
  const bucket = 'bench';

  await using stack = await startBenchStack({ buckets: [bucket] });
  const path = join(stack.dir, 'source.bin');
  await writeRandomFile(path, parts * MiB);
  const producer = stack.producer;
  const enqueue = (i: number, run: string) =>
    producer.enqueueUpload({ source: { kind: 'file', path }, bucket, key: `${run}/${i}.bin`, partSize: MiB });

  // One upload first so connections, scripts and JIT are warm for every row alike.
  await enqueue(0, 'warmup');

  let started = performance.now();
  for (let i = 0; i < uploads; i++) await enqueue(i, 'sequential');
  const sequentialSeconds = (performance.now() - started) / 1000;

  started = performance.now();
  await pool(uploads, inFlight, (i) => enqueue(i, 'concurrent'));
  const concurrentSeconds = (performance.now() - started) / 1000;

  // Raw BullMQ on its own prefix, same Redis, with the payloads and options the producer builds.
  const { port } = new URL(stack.redisUrl);
  const connection = { host: '127.0.0.1', port: Number(port) };
  const rawPrefix = '{obsqbench-raw}';
  const flowProducer = new bullmq.FlowProducer({ connection, prefix: rawPrefix });
  const partQueue = new bullmq.Queue('upload-part', { connection, prefix: rawPrefix });
  const parentQueue = new bullmq.Queue('complete-multipart', { connection, prefix: rawPrefix });
  const onError = (err: Error) => stack.logger.error({ err }, 'raw bullmq error');
  flowProducer.on('error', onError);
  partQueue.on('error', onError);
  parentQueue.on('error', onError);
  try {
    const payloads = (run: string) =>
      Array.from({ length: uploads }, (_, u) => {
        const uploadId = randomUUID().replace(/-/g, '').toUpperCase();
        const key = `${run}/${u}.bin`;
        const parent = parsePayload('complete-multipart', { kind: 'upload', uploadId, bucket, key, totalParts: parts, size: parts * MiB });
        const children = Array.from({ length: parts }, (_, p) =>
          parsePayload('upload-part', { uploadId, bucket, key, partNumber: p + 1, offset: p * MiB, size: MiB, totalParts: parts, source: { kind: 'file', path } }),
        );
        return { id: randomUUID(), parent, children };
      });
    const opts = (name: 'upload-part' | 'complete-multipart', jobId: string) => ({
      jobId,
      ...jobOptionsFor(name),
      removeOnComplete: { age: RETENTION_SECONDS },
      removeOnFail: { age: RETENTION_SECONDS },
    });

    const flows = payloads('flows');
    started = performance.now();
    await flowProducer.addBulk(
      flows.map((f) => ({
        name: 'complete-multipart',
        queueName: 'complete-multipart',
        data: f.parent,
        opts: opts('complete-multipart', f.id),
        children: f.children.map((c, p) => ({
          name: 'upload-part',
          queueName: 'upload-part',
          data: c,
          opts: { ...opts('upload-part', `${f.id}-part-${p + 1}`), continueParentOnFailure: true },
        })),
      })),
    );
    const flowSeconds = (performance.now() - started) / 1000;

    const bulk = payloads('bulk');
    started = performance.now();
    await Promise.all([
      parentQueue.addBulk(bulk.map((f) => ({ name: 'complete-multipart', data: f.parent, opts: opts('complete-multipart', f.id) }))),
      partQueue.addBulk(bulk.flatMap((f) => f.children.map((c, p) => ({ name: 'upload-part', data: c, opts: opts('upload-part', `${f.id}-part-${p + 1}`) })))),
    ]);
    const bulkSeconds = (performance.now() - started) / 1000;

    // Every run must have left exactly its jobs behind (nothing runs them: no workers here).
    const ours = await producer.queue('upload-part').getJobCountByTypes('waiting');
    const raw = await partQueue.getJobCountByTypes('waiting');
    const countsOk = ours === (2 * uploads + 1) * parts && raw === 2 * uploads * parts;

    const rate = (s: number) => jobsPerRun / s;
    const anchor = rate(bulkSeconds);
    const row = (label: string, s: number) => ({ label, cells: [fixed(s, 2), fixed(uploads / s), fixed(rate(s), 0), fixed(rate(s) / anchor, 3)] });
    return [
      {
        name: 'enqueue: producer enqueue rate',
        setup: `${uploads} uploads × ${parts} parts = ${jobsPerRun} jobs per row (${uploads} complete-multipart parents + ${uploads * parts} upload-part children), no workers; one run each.`,
        columns: ['seconds', 'uploads/s', 'jobs/s', 'ratio to anchor'],
        rows: [
          row('obsq Producer.enqueueUpload, one at a time', sequentialSeconds),
          row(`obsq Producer.enqueueUpload, ${inFlight} in flight`, concurrentSeconds),
          row('BullMQ FlowProducer.addBulk, same flows, no storage calls', flowSeconds),
          row('anchor: BullMQ Queue.addBulk, same jobs, no parent/child links', bulkSeconds),
        ],
        notes: [
          'enqueueUpload makes two HTTP calls (HeadBucket, InitiateMultipartUpload) and two Redis reads per upload besides the flow',
          `waiting upload-part jobs ${countsOk ? 'match the jobs enqueued' : `DO NOT match (obsq ${ours}, raw ${raw}): check the run`}`,
        ],
      },
    ];
  } finally {
    await flowProducer.close();
    await partQueue.close();
    await parentQueue.close();
  }
}
