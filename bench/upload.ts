import http from 'node:http';
import { join } from 'node:path';
import { isSuccess } from '../packages/shared/src/index.js';
import { createEsdkClient, fixed, mib, startBenchStack, writeRandomFile, type BenchReport, type ProcMemory } from './lib/index.js';

const MiB = 1024 * 1024;

/** Options of {@link uploadBench}. */
export interface UploadBenchOptions {
  /** Size of the uploaded file, in MiB. @defaultValue 512 */
  sizeMiB?: number;
  /** Part size, in MiB. @defaultValue 8 */
  partSizeMiB?: number;
  /** Worker processes. @defaultValue 2 */
  workers?: number;
  /** `OBSQ_CONCURRENCY_UPLOAD_PART` of each worker. @defaultValue 8 */
  concurrency?: number;
}

/**
 * Multipart upload of one file: obsq (producer here, `workers` worker processes) against Huawei's
 * `esdk-obs-nodejs` `uploadFile` with `TaskNum` = obsq's total concurrency, same file, same part
 * size, same devstack process. Then each worker's peak RSS against the design bound
 * `concurrency × partSize + RSS at ready`.
 */
export async function uploadBench(options: UploadBenchOptions = {}): Promise<BenchReport[]> {
  const sizeMiB = options.sizeMiB ?? 512;
  const partSize = (options.partSizeMiB ?? 8) * MiB;
  const workerCount = options.workers ?? 2;
  const concurrency = options.concurrency ?? 8;
  const taskNum = workerCount * concurrency;
  const size = sizeMiB * MiB;
  const bucket = 'bench';

  await using stack = await startBenchStack({ buckets: [bucket] });
  const path = join(stack.dir, 'source.bin');
  await writeRandomFile(path, size);
  const workers = await stack.startWorkers(workerCount, { OBSQ_CONCURRENCY_UPLOAD_PART: String(concurrency) });

  // obsq: from the enqueue call until the upload's record is readable (initiate, parts, complete).
  const obsqStart = performance.now();
  const up = await stack.producer.enqueueUpload({ source: { kind: 'file', path }, bucket, key: 'obsq/source.bin', partSize });
  const rec = await stack.producer.waitForResult(up.jobId, { timeoutMs: 120_000 });
  const obsqSeconds = (performance.now() - obsqStart) / 1000;
  if (!isSuccess(rec.result)) throw new Error(`obsq upload failed: ${rec.result.status} ${rec.result.errorCode} ${rec.result.errorMessage}`);
  // Read before anything else runs and before SIGTERM: VmHWM dies with the process.
  const memory: ProcMemory[] = await Promise.all(workers.map((w) => w.memory()));

  // Anchor: esdk's own multipart upload; keep-alive agent sized like obsq's total concurrency.
  const agent = new http.Agent({ keepAlive: true, maxSockets: taskNum });
  const esdk = await createEsdkClient({
    access_key_id: stack.devstack.accessKeyId,
    secret_access_key: stack.devstack.secretAccessKey,
    server: stack.devstack.endpoint,
    http_agent: agent,
    timeout: 120,
  });
  let esdkSeconds: number;
  try {
    const esdkStart = performance.now();
    const res = await esdk.uploadFile({ Bucket: bucket, Key: 'esdk/source.bin', UploadFile: path, PartSize: partSize, TaskNum: taskNum });
    esdkSeconds = (performance.now() - esdkStart) / 1000;
    if (res.CommonMsg.Status >= 300) throw new Error(`esdk uploadFile failed: ${res.CommonMsg.Status} ${res.CommonMsg.Code} ${res.CommonMsg.Message}`);
  } finally {
    esdk.close();
    agent.destroy();
  }

  const [ours, theirs] = await Promise.all([
    stack.storage.headObject({ bucket, key: 'obsq/source.bin' }),
    stack.storage.headObject({ bucket, key: 'esdk/source.bin' }),
  ]);
  const sameObject =
    ours.body?.contentLength === size && theirs.body?.contentLength === size && ours.body.etag === theirs.body.etag;

  const obsqRate = sizeMiB / obsqSeconds;
  const esdkRate = sizeMiB / esdkSeconds;
  const perSlot = concurrency * partSize;
  return [
    {
      name: 'upload: multipart upload throughput',
      setup: `${sizeMiB} MiB file, ${partSize / MiB} MiB parts (${up.parts} parts), obsq ${workerCount} workers × ${concurrency} slots vs esdk TaskNum ${taskNum}, one run each.`,
      columns: ['seconds', 'MiB/s', 'ratio to anchor'],
      rows: [
        { label: `obsq (${workerCount} worker processes × ${concurrency})`, cells: [fixed(obsqSeconds, 2), fixed(obsqRate), fixed(obsqRate / esdkRate, 2)] },
        { label: `anchor: esdk-obs-nodejs uploadFile (TaskNum ${taskNum})`, cells: [fixed(esdkSeconds, 2), fixed(esdkRate), '1.00'] },
      ],
      notes: [
        `both objects ${sameObject ? 'have the same size and multipart ETag' : 'DIFFER (size or ETag): check the run'} (${ours.body?.etag ?? '?'})`,
      ],
    },
    {
      name: 'upload: worker peak memory',
      setup: `Bound promised by the design: at most one part per upload-part slot in memory, i.e. RSS at ready + ${concurrency} × ${partSize / MiB} MiB = RSS at ready + ${mib(perSlot)}.`,
      columns: ['RSS at ready', 'peak RSS (VmHWM)', 'bound', 'peak / bound', 'growth (peak − ready)', 'growth / (slots × part)'],
      rows: workers.map((w, i) => {
        const peak = memory[i]!.peakRssBytes;
        const bound = w.atReady.rssBytes + perSlot;
        const growth = Math.max(0, peak - w.atReady.rssBytes);
        return {
          label: `worker ${i + 1} (pid ${w.pid})`,
          cells: [mib(w.atReady.rssBytes), mib(peak), mib(bound), fixed(peak / bound, 2), mib(growth), fixed(growth / perSlot, 2)],
        };
      }),
      notes: ['peak is VmHWM from /proc/<pid>/status read after the upload finished, before SIGTERM; it includes start-up'],
    },
  ];
}
