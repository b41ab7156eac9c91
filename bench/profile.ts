import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isSuccess } from '../packages/shared/src/index.js';
import { fixed, startBenchStack, summariseCpuProfile, writeRandomFile, type BenchReport } from './lib/index.js';

const MiB = 1024 * 1024;
const REPO = fileURLToPath(new URL('..', import.meta.url));

/** Options of {@link profileBench}. */
export interface ProfileBenchOptions {
  /** File size, in MiB. @defaultValue 1024 */
  sizeMiB?: number;
  /** Part size, in MiB. @defaultValue 8 */
  partSizeMiB?: number;
  /** `OBSQ_CONCURRENCY_UPLOAD_PART` of the one worker. @defaultValue 8 */
  concurrency?: number;
}

/**
 * Where one worker's CPU time goes during a multipart upload: the worker runs under
 * `node --cpu-prof`; after the upload it is stopped with SIGTERM (the profile is written at exit)
 * and the profile's self time is summed per function (bundled frames mapped back to .ts lines)
 * and per origin (obsq, each npm package, Node internals, GC).
 */
export async function profileBench(options: ProfileBenchOptions = {}): Promise<BenchReport[]> {
  const sizeMiB = options.sizeMiB ?? 1024;
  const partSize = (options.partSizeMiB ?? 8) * MiB;
  const concurrency = options.concurrency ?? 8;
  const bucket = 'bench';
  const profDir = await mkdtemp(join(tmpdir(), 'obsq-prof-'));
  try {
    let seconds: number;
    let cpu: number;
    {
      await using stack = await startBenchStack({ buckets: [bucket], workerNodeOptions: ['--cpu-prof', `--cpu-prof-dir=${profDir}`] });
      const path = join(stack.dir, 'source.bin');
      await writeRandomFile(path, sizeMiB * MiB);
      const [worker] = await stack.startWorkers(1, { OBSQ_CONCURRENCY_UPLOAD_PART: String(concurrency) });
      const cpuBefore = await worker!.cpuSeconds();
      const started = performance.now();
      const up = await stack.producer.enqueueUpload({ source: { kind: 'file', path }, bucket, key: 'profile.bin', partSize });
      const rec = await stack.producer.waitForResult(up.jobId, { timeoutMs: 300_000 });
      seconds = (performance.now() - started) / 1000;
      cpu = (await worker!.cpuSeconds()) - cpuBefore;
      if (!isSuccess(rec.result)) throw new Error(`obsq upload failed: ${rec.result.status} ${rec.result.errorCode} ${rec.result.errorMessage}`);
    } // the stack closes here: SIGTERM, and the worker writes its profile as it exits
    const file = (await readdir(profDir)).find((f) => f.endsWith('.cpuprofile'));
    if (!file) throw new Error(`the worker wrote no .cpuprofile into ${profDir}`);
    const summary = await summariseCpuProfile(join(profDir, file), REPO);
    const setup = `one worker × ${concurrency} slots under --cpu-prof, ${sizeMiB} MiB file, ${partSize / MiB} MiB parts; upload ${fixed(seconds, 2)} s, worker CPU during the upload ${fixed(cpu, 2)} s (${fixed(cpu / (sizeMiB / 1024), 2)} CPU-s/GiB); the profile covers the worker's whole life (${fixed(summary.totalMs / 1000, 1)} s, ${fixed(summary.busyMs / 1000, 2)} s not idle).`;
    return [
      {
        name: 'profile: worker self time by function',
        setup,
        columns: ['where', 'self ms', 'share of busy'],
        rows: summary.top.map((e) => ({ label: e.name, cells: [e.where || '-', fixed(e.selfMs, 0), `${fixed(e.share * 100)} %`] })),
        notes: ['share of busy: of all samples that were not (idle); (program) is native work outside JS, (garbage collector) is GC'],
      },
      {
        name: 'profile: worker self time by origin',
        setup: 'Same profile, grouped by where the code comes from.',
        columns: ['self ms', 'share of busy'],
        rows: summary.byOrigin.slice(0, 12).map((o) => ({ label: o.origin, cells: [fixed(o.selfMs, 0), `${fixed(o.share * 100)} %`] })),
        notes: [],
      },
    ];
  } finally {
    await rm(profDir, { recursive: true, force: true });
  }
}
