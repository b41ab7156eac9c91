import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isSuccess } from '../packages/shared/src/index.js';
import { OBSQ_LAUNCHER } from '../scripts/build.js';
import { fixed, startBenchStack, writeRandomFile, type BenchReport } from './lib/index.js';

const MiB = 1024 * 1024;
const REPO = fileURLToPath(new URL('..', import.meta.url));
/** The sources under tsx, as every command ran before the compiled build (and `pnpm obsq:dev` still does). */
const TSX_CLI = ['--no-warnings', '--import', 'tsx', join(REPO, 'packages/cli/src/main.ts')];

/** Options of {@link cliBench}. */
export interface CliBenchOptions {
  /** Runs of each command (and of the in-process upload it is compared with). @defaultValue 5 */
  rounds?: number;
  /** Size of the file `upload --wait` sends, in MiB (parts of 8 MiB). @defaultValue 16 */
  sizeMiB?: number;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const range = (xs: number[]) => `${fixed(Math.min(...xs), 3)}–${fixed(Math.max(...xs), 3)}`;

/** Runs `node <args>` to its exit; resolves with the wall seconds, rejects on a non-zero exit. */
function timedNode(args: string[], env: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, args, { cwd: REPO, env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.once('exit', (code) => (code === 0 ? resolve((performance.now() - started) / 1000) : reject(new Error(`node ${args.join(' ')} exited ${code}: ${err}`))));
  });
}

/**
 * What a command costs on top of its work: `obsq --help` (compiled, and the sources under tsx for
 * comparison), and `obsq upload --wait` against the same upload run in-process by a producer that is
 * already connected, alternating the two.
 */
export async function cliBench(options: CliBenchOptions = {}): Promise<BenchReport[]> {
  const rounds = options.rounds ?? 5;
  const sizeMiB = options.sizeMiB ?? 16;
  const help = { compiled: [] as number[], tsx: [] as number[] };
  for (let i = 0; i < rounds; i++) {
    help.compiled.push(await timedNode([OBSQ_LAUNCHER, '--help'], {}));
    help.tsx.push(await timedNode([...TSX_CLI, '--help'], {}));
  }

  await using stack = await startBenchStack({ buckets: ['bench'] });
  const path = join(stack.dir, 'small.bin');
  await writeRandomFile(path, sizeMiB * MiB);
  await stack.startWorkers(1);
  const inProcess: number[] = [];
  const cli = { compiled: [] as number[], tsx: [] as number[] };
  const inProcessUpload = async (key: string) => {
    const started = performance.now();
    const up = await stack.producer.enqueueUpload({ source: { kind: 'file', path }, bucket: 'bench', key, partSize: 8 * MiB });
    const rec = await stack.producer.waitForResult(up.jobId, { timeoutMs: 60_000 });
    if (!isSuccess(rec.result)) throw new Error(`upload failed: ${rec.result.errorCode} ${rec.result.errorMessage}`);
    return (performance.now() - started) / 1000;
  };
  const uploadArgs = (key: string) => ['upload', path, `obs://bench/${key}`, '--part-size', '8MiB', '--wait', '--json'];
  await inProcessUpload('warm-up');
  for (let i = 0; i < rounds; i++) {
    inProcess.push(await inProcessUpload(`p${i}`));
    cli.compiled.push(await timedNode([OBSQ_LAUNCHER, ...uploadArgs(`c${i}`)], stack.env));
    cli.tsx.push(await timedNode([...TSX_CLI, ...uploadArgs(`t${i}`)], stack.env));
  }
  const base = median(inProcess);
  return [
    {
      name: 'cli: command start-up',
      setup: `${rounds} runs each, alternating; wall time from spawn to exit. upload: ${sizeMiB} MiB file, 8 MiB parts, one worker; "overhead" is the command's median minus the in-process median.`,
      columns: ['median s', 'range s', 'overhead s'],
      rows: [
        { label: 'obsq --help (compiled: node packages/cli/bin/obsq.js)', cells: [fixed(median(help.compiled), 3), range(help.compiled), '-'] },
        { label: 'obsq --help (sources under tsx, as before)', cells: [fixed(median(help.tsx), 3), range(help.tsx), '-'] },
        { label: 'upload in process (Producer already connected)', cells: [fixed(base, 3), range(inProcess), '-'] },
        { label: 'obsq upload --wait --json (compiled)', cells: [fixed(median(cli.compiled), 3), range(cli.compiled), fixed(median(cli.compiled) - base, 3)] },
        { label: 'obsq upload --wait --json (sources under tsx)', cells: [fixed(median(cli.tsx), 3), range(cli.tsx), fixed(median(cli.tsx) - base, 3)] },
      ],
      notes: ['targets: obsq --help ≤ 0.3 s; upload --wait adds ≤ 0.3 s over the job'],
    },
  ];
}
