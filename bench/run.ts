import { availableParallelism, loadavg, totalmem } from 'node:os';
import { parseArgs } from 'node:util';
import { batchBench } from './batch.js';
import { cliBench } from './cli.js';
import { copyBench } from './copy.js';
import { enqueueBench } from './enqueue.js';
import { closeOpenStacks, formatReport, type BenchReport } from './lib/index.js';
import { profileBench } from './profile.js';
import { transcribeBench } from './transcribe.js';
import { uploadBench } from './upload.js';

const USAGE = `usage: node --import tsx bench/run.ts [upload|cli|copy|enqueue|profile|batch|transcribe ...] [options]
  no name runs upload, cli, copy and enqueue, one after the other; see docs/benchmarks.md
  --size-mib N        upload, profile: file size (1024); copy: object size (1024); cli: upload size (16)
  --part-size-mib N   upload, profile: part size (8); copy: part size of the multipart copy (64)
  --workers N         upload: worker processes (1); copy: (2)
  --concurrency N     upload, profile, copy: slots per worker (8); the anchors get workers × concurrency
  --rounds N          upload: rounds, each running every client once, order rotating (1); cli: runs (5)
  --uploads N         enqueue: uploads per row (200)
  --files N           batch: small files (2000); batch also takes --rounds (3)
  --manifest-lines N  batch: lines of the enqueue manifest (100000)
  --repeat N          transcribe: times each LibriVox clip is transcribed (4: 20 files, 98.9 s)
  --parallel N        transcribe: files decoded at once, bare and in the worker (2); transcribe also takes --rounds (2)`;

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    'size-mib': { type: 'string' },
    'part-size-mib': { type: 'string' },
    workers: { type: 'string' },
    concurrency: { type: 'string' },
    uploads: { type: 'string' },
    rounds: { type: 'string' },
    files: { type: 'string' },
    'manifest-lines': { type: 'string' },
    repeat: { type: 'string' },
    parallel: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  },
});

const num = (name: string, v: string | undefined): number | undefined => {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`--${name} must be a positive integer, got ${JSON.stringify(v)}`);
  return n;
};

const shared = () => ({
  sizeMiB: num('size-mib', values['size-mib']),
  partSizeMiB: num('part-size-mib', values['part-size-mib']),
  workers: num('workers', values.workers),
  concurrency: num('concurrency', values.concurrency),
});
const benches: Record<string, () => Promise<BenchReport[]>> = {
  upload: () => uploadBench({ ...shared(), rounds: num('rounds', values.rounds) }),
  cli: () => cliBench({ rounds: num('rounds', values.rounds), sizeMiB: num('size-mib', values['size-mib']) }),
  copy: () => copyBench(shared()),
  enqueue: () => enqueueBench({ uploads: num('uploads', values.uploads) }),
  batch: () => batchBench({ rounds: num('rounds', values.rounds), files: num('files', values.files), manifestLines: num('manifest-lines', values['manifest-lines']) }),
  profile: () => profileBench({ sizeMiB: num('size-mib', values['size-mib']), partSizeMiB: num('part-size-mib', values['part-size-mib']), concurrency: num('concurrency', values.concurrency) }),
  transcribe: () => transcribeBench({ repeat: num('repeat', values.repeat), parallel: num('parallel', values.parallel), rounds: num('rounds', values.rounds) }),
};

if (values.help) {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}
const names = positionals.length > 0 ? positionals : Object.keys(benches).filter((n) => !['profile', 'batch', 'transcribe'].includes(n));
const unknown = names.filter((n) => !(n in benches));
if (unknown.length > 0) {
  process.stderr.write(`unknown benchmark ${unknown.join(', ')}\n${USAGE}\n`);
  process.exit(2);
}

// Ctrl-C: stop the stack's children and remove temp files before exiting (128 + SIGINT).
process.once('SIGINT', () => {
  process.stderr.write('bench: interrupted, cleaning up\n');
  void closeOpenStacks().finally(() => process.exit(130));
});

const memGiB = (totalmem() / 1024 ** 3).toFixed(1);
// The load average says whether something else shared the CPUs during the run.
const load = () => loadavg().map((l) => l.toFixed(2)).join(' ');
process.stdout.write(`machine: ${availableParallelism()} CPUs (nproc), ${memGiB} GiB memory, Node ${process.version}, ${process.platform} ${process.arch}; load average ${load()}\n\n`);
let failed = false;
for (const name of names) {
  const started = performance.now();
  try {
    const reports = await benches[name]!();
    for (const r of reports) process.stdout.write(`${formatReport(r)}\n\n`);
    process.stdout.write(`(${name}: ${((performance.now() - started) / 1000).toFixed(0)} s wall time including setup; load average after ${load()})\n\n`);
  } catch (err) {
    failed = true;
    process.stderr.write(`bench ${name} failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  }
}
process.exitCode = failed ? 1 : 0;
