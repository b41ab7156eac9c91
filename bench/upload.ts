import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import http from 'node:http';
import { join } from 'node:path';
import { isSuccess } from '../packages/shared/src/index.js';
import {
  createEsdkClient,
  fixed,
  LibStorageUpload,
  mib,
  NodeHttpHandler,
  procCpuSeconds,
  S3ClientClass,
  startBenchStack,
  writeRandomFile,
  type BenchReport,
  type BenchStack,
  type BenchWorker,
  type ProcMemory,
} from './lib/index.js';

const MiB = 1024 * 1024;

/** Options of {@link uploadBench}. */
export interface UploadBenchOptions {
  /** Size of the uploaded file, in MiB. @defaultValue 1024 */
  sizeMiB?: number;
  /** Part size, in MiB. @defaultValue 8 */
  partSizeMiB?: number;
  /** Worker processes. @defaultValue 1 */
  workers?: number;
  /** `OBSQ_CONCURRENCY_UPLOAD_PART` of each worker; the anchors get workers × concurrency. @defaultValue 8 */
  concurrency?: number;
  /** Rounds; each runs every client once, in an order that rotates from round to round. @defaultValue 1 */
  rounds?: number;
}

/** One client's timed upload. */
interface Run {
  seconds: number;
  /** CPU seconds of the client: the worker processes for obsq, this process for the others. */
  clientCpu: number;
  /** CPU seconds of this (bench) process during an obsq run: the producer's share. */
  producerCpu?: number;
  /** CPU seconds of the devstack process during the run. */
  devstackCpu: number;
  etag: string;
}

interface Client {
  label: string;
  /** Uploads the file to `key`; returns the client CPU seconds it spent (worker processes, or undefined = this process). */
  upload(key: string): Promise<number | undefined>;
}

const cpuSelf = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const range = (xs: number[], digits: number) => (xs.length > 1 ? `${fixed(Math.min(...xs), digits)}–${fixed(Math.max(...xs), digits)}` : '-');

function obsqClient(stack: BenchStack, workers: BenchWorker[], path: string, partSize: number, concurrency: number): Client {
  return {
    label: `obsq (${workers.length} worker${workers.length > 1 ? 's' : ''} × ${concurrency} slots)`,
    async upload(key) {
      const before = await Promise.all(workers.map((w) => w.cpuSeconds()));
      const up = await stack.producer.enqueueUpload({ source: { kind: 'file', path }, bucket: 'bench', key, partSize });
      const rec = await stack.producer.waitForResult(up.jobId, { timeoutMs: 300_000 });
      if (!isSuccess(rec.result)) throw new Error(`obsq upload failed: ${rec.result.status} ${rec.result.errorCode} ${rec.result.errorMessage}`);
      const after = await Promise.all(workers.map((w) => w.cpuSeconds()));
      return after.reduce((sum, a, i) => sum + a - before[i]!, 0);
    },
  };
}

function esdkClient(stack: BenchStack, path: string, partSize: number, taskNum: number): Client {
  return {
    label: `anchor: esdk-obs-nodejs uploadFile (TaskNum ${taskNum})`,
    async upload(key) {
      // A keep-alive agent sized like obsq's total concurrency; no checkpoint file.
      const agent = new http.Agent({ keepAlive: true, maxSockets: taskNum });
      const esdk = await createEsdkClient({
        access_key_id: stack.devstack.accessKeyId,
        secret_access_key: stack.devstack.secretAccessKey,
        server: stack.devstack.endpoint,
        http_agent: agent,
        timeout: 300,
      });
      try {
        const res = await esdk.uploadFile({ Bucket: 'bench', Key: key, UploadFile: path, PartSize: partSize, TaskNum: taskNum });
        if (res.CommonMsg.Status >= 300) throw new Error(`esdk uploadFile failed: ${res.CommonMsg.Status} ${res.CommonMsg.Code} ${res.CommonMsg.Message}`);
      } finally {
        esdk.close();
        agent.destroy();
      }
      return undefined;
    },
  };
}

function libStorageClient(stack: BenchStack, path: string, partSize: number, queueSize: number): Client {
  return {
    label: `anchor: @aws-sdk/lib-storage Upload (queueSize ${queueSize})`,
    async upload(key) {
      const agent = new http.Agent({ keepAlive: true, maxSockets: queueSize });
      // SDK defaults otherwise (as an application would use it): over plain http it signs each
      // part's SHA-256 and adds a CRC32 checksum, which the devstack verifies.
      const s3 = new S3ClientClass({
        endpoint: stack.devstack.endpoint,
        region: stack.devstack.region,
        credentials: { accessKeyId: stack.devstack.accessKeyId, secretAccessKey: stack.devstack.secretAccessKey },
        forcePathStyle: true,
        requestHandler: new NodeHttpHandler({ httpAgent: agent }),
      });
      try {
        await new LibStorageUpload({ client: s3, params: { Bucket: 'bench', Key: key, Body: createReadStream(path) }, queueSize, partSize }).done();
      } finally {
        s3.destroy();
        agent.destroy();
      }
      return undefined;
    },
  };
}

/**
 * The devstack's own ceiling: obsq's ObsClient alone in this process, `concurrency` parts in flight,
 * each read into a buffer and PUT with no queue, no MD5 and no Redis.
 */
function rawClient(stack: BenchStack, path: string, size: number, partSize: number, concurrency: number): Client {
  return {
    label: `floor: ObsClient alone, no queue, no MD5 (${concurrency} in flight)`,
    async upload(key) {
      const init = await stack.storage.initiateMultipartUpload({ bucket: 'bench', key });
      const uploadId = init.body!.uploadId;
      const count = Math.ceil(size / partSize);
      const etags: string[] = [];
      let next = 0;
      const fh = await open(path, 'r');
      try {
        await Promise.all(
          Array.from({ length: concurrency }, async () => {
            for (let n = next++; n < count; n = next++) {
              const length = Math.min(partSize, size - n * partSize);
              const buf = Buffer.allocUnsafe(length);
              await fh.read(buf, 0, length, n * partSize);
              const res = await stack.storage.uploadPart({ bucket: 'bench', key, uploadId, partNumber: n + 1, body: buf, contentLength: length });
              etags[n] = res.body!.etag;
            }
          }),
        );
      } finally {
        await fh.close();
      }
      await stack.storage.completeMultipartUpload({ bucket: 'bench', key, uploadId, parts: etags.map((etag, i) => ({ partNumber: i + 1, etag })) });
      return undefined;
    },
  };
}

async function timed(stack: BenchStack, client: Client, key: string): Promise<Run> {
  const ds0 = await procCpuSeconds(stack.devstack.pid);
  const self0 = cpuSelf();
  const started = performance.now();
  const workerCpu = await client.upload(key);
  const seconds = (performance.now() - started) / 1000;
  const self = cpuSelf() - self0;
  const devstackCpu = (await procCpuSeconds(stack.devstack.pid)) - ds0;
  const head = await stack.storage.headObject({ bucket: 'bench', key });
  // Not timed: keeps the devstack's disk use at one object per client.
  await stack.storage.deleteObject({ bucket: 'bench', key });
  return workerCpu === undefined
    ? { seconds, clientCpu: self, devstackCpu, etag: head.body?.etag ?? '?' }
    : { seconds, clientCpu: workerCpu, producerCpu: self, devstackCpu, etag: head.body?.etag ?? '?' };
}

/**
 * Multipart upload of one file by obsq (producer here, worker processes) and two anchors on the same
 * devstack: Huawei's esdk-obs-nodejs `uploadFile` and AWS's `@aws-sdk/lib-storage` `Upload`, each
 * with obsq's total concurrency and part size, plus a floor (obsq's storage client alone). Rounds
 * rotate the order. Then each worker's memory against `RSS at ready + slots × part size + 32 MiB`.
 */
export async function uploadBench(options: UploadBenchOptions = {}): Promise<BenchReport[]> {
  const sizeMiB = options.sizeMiB ?? 1024;
  const partSize = (options.partSizeMiB ?? 8) * MiB;
  const workerCount = options.workers ?? 1;
  const concurrency = options.concurrency ?? 8;
  const rounds = options.rounds ?? 1;
  const total = workerCount * concurrency;
  const size = sizeMiB * MiB;

  await using stack = await startBenchStack({ buckets: ['bench'] });
  const path = join(stack.dir, 'source.bin');
  await writeRandomFile(path, size);
  const workers = await stack.startWorkers(workerCount, { OBSQ_CONCURRENCY_UPLOAD_PART: String(concurrency) });

  const clients = [
    obsqClient(stack, workers, path, partSize, concurrency),
    esdkClient(stack, path, partSize, total),
    libStorageClient(stack, path, partSize, total),
    rawClient(stack, path, size, partSize, total),
  ];
  const runs = clients.map(() => [] as Run[]);
  for (let round = 0; round < rounds; round++) {
    for (let i = 0; i < clients.length; i++) {
      const c = (i + round) % clients.length;
      runs[c]!.push(await timed(stack, clients[c]!, `c${c}/r${round}.bin`));
    }
  }
  // Read before SIGTERM: VmHWM dies with the process.
  const memory: ProcMemory[] = await Promise.all(workers.map((w) => w.memory()));

  const gib = sizeMiB / 1024;
  const rate = (r: Run) => sizeMiB / r.seconds;
  const obsqRate = median(runs[0]!.map(rate));
  const rows = clients.map((c, i) => {
    const rs = runs[i]!;
    const rates = rs.map(rate);
    const cpu = rs.map((r) => r.clientCpu / gib);
    return {
      label: c.label,
      cells: [
        fixed(median(rs.map((r) => r.seconds)), 2),
        fixed(median(rates)),
        range(rates, 1),
        fixed(obsqRate / median(rates), 2),
        fixed(median(cpu), 2),
        range(cpu, 2),
        fixed(median(rs.map((r) => r.devstackCpu / gib)), 2),
      ],
    };
  });
  const etags = new Set(runs.flat().map((r) => r.etag));
  const producerCpu = runs[0]!.map((r) => (r.producerCpu ?? 0) / gib);
  const slotBytes = concurrency * partSize;
  return [
    {
      name: 'upload: multipart upload throughput and CPU',
      setup: `${sizeMiB} MiB file, ${partSize / MiB} MiB parts (${Math.ceil(size / partSize)} parts), total concurrency ${total} for every client, ${rounds} round${rounds > 1 ? 's' : ''} (order rotates each round); medians, ranges over the rounds.`,
      columns: ['seconds', 'MiB/s', 'MiB/s range', 'obsq ÷ this', 'client CPU-s/GiB', 'CPU range', 'devstack CPU-s/GiB'],
      rows,
      notes: [
        `every object ${etags.size === 1 ? 'has the same multipart ETag' : `does NOT have the same ETag (${[...etags].join(', ')}): check the run`} (${[...etags][0]})`,
        'client CPU: the worker processes for obsq (/proc/<pid>/stat); the bench process (process.cpuUsage) for the others, which run in it',
        `obsq's producer (enqueue, waitForResult, in the bench process) used a further ${fixed(median(producerCpu), 2)} CPU-s/GiB`,
      ],
    },
    {
      name: 'upload: worker memory',
      setup: `Target: RSS at ready ≤ 80 MiB; peak ≤ RSS at ready + ${concurrency} slots × ${partSize / MiB} MiB + 32 MiB = RSS at ready + ${mib(slotBytes + 32 * MiB)}.`,
      columns: ['RSS at ready', 'peak RSS (VmHWM)', 'bound', 'peak / bound', 'growth (peak − ready)'],
      rows: workers.map((w, i) => {
        const peak = memory[i]!.peakRssBytes;
        const bound = w.atReady.rssBytes + slotBytes + 32 * MiB;
        return {
          label: `worker ${i + 1}`,
          cells: [mib(w.atReady.rssBytes), mib(peak), mib(bound), fixed(peak / bound, 2), mib(Math.max(0, peak - w.atReady.rssBytes))],
        };
      }),
      notes: [`peak is VmHWM from /proc/<pid>/status read after all ${rounds} obsq upload${rounds > 1 ? 's' : ''}, before SIGTERM; it includes start-up`],
    },
  ];
}
