import { execFile } from 'node:child_process';
import { mkdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { filePinOf, jobOptionsFor, parsePayload } from '../packages/shared/src/index.js';
import { bullmq, fixed, startBenchStack, writeRandomFile, type BenchReport, type BenchStack } from './lib/index.js';

const run = promisify(execFile);
const MiB = 1024 * 1024;

/** Options of {@link batchBench}. */
export interface BatchBenchOptions {
  /** Alternating rounds per scenario (obsq, rclone, obsq, …); medians and ranges are printed. @defaultValue 3 */
  rounds?: number;
  /** Small files. @defaultValue 2000 */
  files?: number;
  /** Large files of 64 MiB. @defaultValue 8 */
  largeFiles?: number;
  /** Manifest lines of the enqueue row. @defaultValue 100000 */
  manifestLines?: number;
  /** Total concurrency: obsq slots of the one worker; rclone --transfers. @defaultValue 8 */
  concurrency?: number;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const range = (xs: number[], d = 0) => `${fixed(Math.min(...xs), d)}–${fixed(Math.max(...xs), d)}`;

function rcloneEnv(stack: BenchStack): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH ?? '',
    HOME: stack.dir,
    RCLONE_CONFIG: join(stack.dir, 'rclone.conf'),
    RCLONE_CONFIG_DEV_TYPE: 's3',
    RCLONE_CONFIG_DEV_PROVIDER: 'Other',
    RCLONE_CONFIG_DEV_ENDPOINT: stack.devstack.endpoint,
    RCLONE_CONFIG_DEV_REGION: stack.devstack.region,
    RCLONE_CONFIG_DEV_ACCESS_KEY_ID: stack.devstack.accessKeyId,
    RCLONE_CONFIG_DEV_SECRET_ACCESS_KEY: stack.devstack.secretAccessKey,
    RCLONE_CONFIG_DEV_FORCE_PATH_STYLE: 'true',
  };
}

async function rcloneCopy(stack: BenchStack, from: string, to: string, concurrency: number, extra: string[] = []): Promise<number> {
  const t = performance.now();
  await run('rclone', ['copy', from, `dev:${to}`, '--transfers', String(concurrency), '--checkers', String(concurrency), '--retries', '1', '--s3-no-check-bucket', ...extra], {
    env: rcloneEnv(stack),
    timeout: 600_000,
    maxBuffer: 16 * MiB,
  });
  return (performance.now() - t) / 1000;
}

async function obsqBatch(stack: BenchStack, root: string, prefix: string, batchId: string, skip: 'none' | 'size' = 'none'): Promise<number> {
  const t = performance.now();
  await stack.producer.enqueueBatch({ bucket: 'bench', prefix, sources: [root], batchId, skipExisting: skip, partSize: 8 * MiB });
  const rec = await stack.producer.waitForBatch(batchId, { timeoutMs: 600_000, pollMs: 20 });
  const seconds = (performance.now() - t) / 1000;
  if (rec.result.status !== 200) throw new Error(`obsq batch ${batchId} failed: ${rec.result.errorMessage}`);
  return seconds;
}

/**
 * Batch ingestion against rclone (Debian's), the tool a pipeline would pick, on the same devstack
 * process: many small files, a re-run with nothing changed (size comparison on both sides), a few
 * large files, and the producer's enqueue rate against bare BullMQ addBulk.
 */
export async function batchBench(options: BatchBenchOptions = {}): Promise<BenchReport[]> {
  const rounds = options.rounds ?? 3;
  const files = options.files ?? 2000;
  const largeFiles = options.largeFiles ?? 8;
  const lines = options.manifestLines ?? 100_000;
  const concurrency = options.concurrency ?? 8;
  await using estack = await startBenchStack({ buckets: ['bench'], minPartSize: 5 * MiB });
  // Enqueue only, on a stack of its own with no worker (the jobs are measured as Redis writes). The manifest names
  // one small file `lines` times under different keys, so stat costs what a real tree's would.
  const manifest = join(estack.dir, 'manifest.jsonl');
  const one = join(estack.dir, 'one.txt');
  await writeFile(one, Buffer.alloc(1024, 1));
  await writeFile(manifest, Array.from({ length: lines }, (_, i) => JSON.stringify({ source: one, key: `m/${i}.txt` })).join('\n'));
  const enqueue: number[] = [];
  const bare: number[] = [];
  const { openManifest } = await import('../packages/producer/src/index.js');
  const before = process.memoryUsage().rss;
  let peak = before;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
  const queue = new bullmq.Queue('put-object', { connection: estack.redis, prefix: estack.prefix });
  try {
    for (let r = 0; r < rounds; r++) {
      let s = performance.now();
      await estack.producer.enqueueBatch({ bucket: 'bench', prefix: `e${r}/`, manifest: openManifest(manifest), batchId: `enq-${r}`, maxPending: lines * 2 });
      enqueue.push(lines / ((performance.now() - s) / 1000));
      const pin = filePinOf(await stat(one, { bigint: true }));
      const data = parsePayload('put-object', { bucket: 'bench', key: 'x', source: { kind: 'file', path: one, pin }, size: 1024 });
      s = performance.now();
      for (let i = 0; i < lines; i += 256) {
        await queue.addBulk(Array.from({ length: Math.min(256, lines - i) }, (_, j) => ({ name: 'put-object', data: { ...data, key: `bare${r}/${i + j}` }, opts: { jobId: `bare-${r}-${i + j}`, ...jobOptionsFor('put-object') } })));
      }
      bare.push(lines / ((performance.now() - s) / 1000));
    }
  } finally {
    clearInterval(sampler);
    await queue.close();
  }

  await using stack = await startBenchStack({ buckets: ['bench'], minPartSize: 5 * MiB });
  const c = String(concurrency);
  await stack.startWorkers(1, {
    OBSQ_CONCURRENCY_PUT_OBJECT: c,
    OBSQ_CONCURRENCY_UPLOAD_PART: c,
    OBSQ_CONCURRENCY_COMPLETE_MULTIPART: c,
  });

  const small = join(stack.dir, 'small');
  await mkdir(small);
  for (let i = 0; i < files; i++) await writeFile(join(small, `f${String(i).padStart(5, '0')}.txt`), Buffer.alloc(1024, i % 251));
  const large = join(stack.dir, 'large');
  await mkdir(large);
  for (let i = 0; i < largeFiles; i++) await writeRandomFile(join(large, `big${i}.bin`), 64 * MiB);

  const t = { obsqSmall: [] as number[], rcloneSmall: [] as number[], obsqRerun: [] as number[], rcloneRerun: [] as number[], obsqLarge: [] as number[], rcloneLarge: [] as number[] };
  for (let r = 0; r < rounds; r++) {
    t.obsqSmall.push(await obsqBatch(stack, small, `o${r}/small/`, `small-${r}`));
    t.rcloneSmall.push(await rcloneCopy(stack, small, `bench/r${r}/small`, concurrency));
    t.obsqRerun.push(await obsqBatch(stack, small, `o${r}/small/`, `rerun-${r}`, 'size'));
    t.rcloneRerun.push(await rcloneCopy(stack, small, `bench/r${r}/small`, concurrency, ['--size-only']));
    t.obsqLarge.push(await obsqBatch(stack, large, `o${r}/large/`, `large-${r}`));
    t.rcloneLarge.push(await rcloneCopy(stack, large, `bench/r${r}/large`, concurrency));
  }

  const rate = (n: number, secs: number[]) => secs.map((s) => n / s);
  const smallO = rate(files, t.obsqSmall);
  const smallR = rate(files, t.rcloneSmall);
  const rerunO = rate(files, t.obsqRerun);
  const rerunR = rate(files, t.rcloneRerun);
  const largeO = rate(largeFiles * 64, t.obsqLarge);
  const largeR = rate(largeFiles * 64, t.rcloneLarge);
  const ratio = (a: number[], b: number[]) => fixed(median(a) / median(b), 2);
  return [
    {
      name: 'batch',
      setup: `${rounds} alternating rounds, one devstack process; obsq: 1 worker with ${concurrency} slots per queue, producer in the bench process, from enqueueBatch to the batch record; rclone ${concurrency} transfers/checkers`,
      columns: ['obsq median', 'obsq range', 'rclone median', 'rclone range', 'obsq / rclone'],
      rows: [
        { label: `${files} × 1 KiB, files/s`, cells: [fixed(median(smallO)), range(smallO), fixed(median(smallR)), range(smallR), ratio(smallO, smallR)] },
        { label: `re-run, nothing changed (size), files/s`, cells: [fixed(median(rerunO)), range(rerunO), fixed(median(rerunR)), range(rerunR), ratio(rerunO, rerunR)] },
        { label: `${largeFiles} × 64 MiB, MiB/s`, cells: [fixed(median(largeO)), range(largeO), fixed(median(largeR)), range(largeR), ratio(largeO, largeR)] },
      ],
      notes: ['rclone re-run uses --size-only, the same comparison as obsq --skip-existing size.'],
    },
    {
      name: 'batch enqueue',
      setup: `${lines}-line JSON Lines manifest, ${rounds} rounds; bare BullMQ: addBulk of the same number of put-object jobs in chunks of 256`,
      columns: ['obsq enqueueBatch jobs/s', 'bare addBulk jobs/s', 'ratio', 'bench process peak RSS'],
      rows: [
        {
          label: 'median',
          cells: [fixed(median(enqueue), 0), fixed(median(bare), 0), fixed(median(enqueue) / median(bare), 2), `${fixed(peak / MiB)} MiB (start ${fixed(before / MiB)} MiB)`],
        },
      ],
      notes: [`obsq range ${range(enqueue)} jobs/s; bare range ${range(bare)} jobs/s. The RSS is of the whole bench process (producer, tsx, the obsq stack's clients).`],
    },
  ];
}
