import { spawn } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { isSuccess } from '../packages/shared/src/index.js';
import { fixed, procTreeCpuSeconds, startBenchStack, type BenchReport, type BenchRow, type BenchStack } from './lib/index.js';

/** Debian `pocketsphinx-testdata`: five 16 kHz mono LibriVox WAVs, 24.7 s of audio together. */
const LIBRIVOX = '/usr/share/pocketsphinx/test/data/librivox';
const REQUEST = { audioFormat: 'pcm16k16bit', property: 'english_16k_common' };

/** Options of {@link transcribeBench}. */
export interface TranscribeBenchOptions {
  /** Each clip is transcribed this many times (as distinct objects). @defaultValue 4 (20 files, 98.9 s) */
  repeat?: number;
  /** Files decoded at once: bare engine processes, and the worker's transcription slots. @defaultValue 2 */
  parallel?: number;
  /** Rounds of (bare, local, SIS), alternating. @defaultValue 2 */
  rounds?: number;
}

interface Clip {
  path: string;
  name: string;
  seconds: number;
}

async function clips(): Promise<Clip[]> {
  const names = (await readdir(LIBRIVOX)).filter((f) => f.endsWith('.wav')).sort();
  return Promise.all(
    names.map(async (name) => {
      const head = (await readFile(join(LIBRIVOX, name))).subarray(0, 44);
      // Canonical 44-byte header: data length at 40, byte rate at 28.
      return { path: join(LIBRIVOX, name), name, seconds: head.readUInt32LE(40) / head.readUInt32LE(28) };
    }),
  );
}

/**
 * `pocketsphinx_continuous -infile F -time yes`, `parallel` at a time, as the issue measured it.
 * Returns wall seconds and the engines' CPU seconds (each run's shell reports its waited child's
 * `cutime + cstime` from `/proc/$$/stat`).
 */
async function bareEngine(files: Clip[], parallel: number): Promise<{ seconds: number; cpuSeconds: number }> {
  const queue = [...files];
  const started = performance.now();
  let cpuSeconds = 0;
  const lane = async () => {
    for (let clip = queue.shift(); clip; clip = queue.shift()) {
      const child = spawn('/bin/sh', ['-c', 'pocketsphinx_continuous "$@" >/dev/null 2>&1; s=$?; cat /proc/$$/stat; exit $s', 'sh', '-infile', clip.path, '-time', 'yes'], {
        stdio: ['ignore', 'pipe', 'ignore'],
      });
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
      if (code !== 0) throw new Error(`pocketsphinx_continuous exited with ${code} on ${clip.name}`);
      const f = out.slice(out.lastIndexOf(')') + 2).split(' ');
      // cutime, cstime: fields 16 and 17 of /proc/<pid>/stat, in 1/100 s.
      cpuSeconds += (Number(f[13]) + Number(f[14])) / 100;
    }
  };
  await Promise.all(Array.from({ length: parallel }, lane));
  return { seconds: (performance.now() - started) / 1000, cpuSeconds };
}

/** Enqueues one transcription per object and waits for all records; seconds from first enqueue to last record. */
async function throughWorker(stack: BenchStack, workerPid: number, keys: string[], engine: 'local' | 'sis', tag: string): Promise<{ seconds: number; meanJobSeconds: number; cpuSeconds: number }> {
  // Everything obsq runs for it: the worker and its engines, and the devstack (object store, SIS
  // stand-in and its engines). Not the bench process or Redis.
  const cpu = async () => (await procTreeCpuSeconds(workerPid)) + (await procTreeCpuSeconds(stack.devstack.pid));
  const cpuBefore = await cpu();
  const started = performance.now();
  const jobs = await Promise.all(
    keys.map((key) =>
      stack.producer.enqueueTranscription({
        audio: { bucket: 'bench', key },
        request: REQUEST,
        engine,
        output: { bucket: 'bench', prefix: `out/${tag}/`, formats: ['json', 'srt', 'vtt', 'txt'] },
      }),
    ),
  );
  const records = await Promise.all(jobs.map((j) => stack.producer.waitForResult(j.jobId, { timeoutMs: 600_000 })));
  const seconds = (performance.now() - started) / 1000;
  const cpuSeconds = (await cpu()) - cpuBefore;
  const failed = records.filter((r) => !isSuccess(r.result));
  if (failed.length > 0) throw new Error(`${failed.length} ${engine} transcriptions failed, e.g. ${failed[0]!.result.errorCode} ${failed[0]!.result.errorMessage}`);
  const queue = stack.producer.queue('transcribe-audio-file');
  let jobSeconds = 0;
  for (const j of jobs) {
    const job = await queue.getJob(j.jobId);
    if (job?.processedOn && job.finishedOn) jobSeconds += (job.finishedOn - job.processedOn) / 1000;
  }
  return { seconds, meanJobSeconds: jobSeconds / jobs.length, cpuSeconds };
}

/**
 * Transcription throughput in audio seconds per wall second: the bare engine
 * (`pocketsphinx_continuous` per file, `parallel` at once) against one obsq worker with `parallel`
 * transcription slots, through its warm local engines and through devstack's SIS stand-in
 * (unpaced). Same files, same parallelism; the worker also downloads each object and uploads four
 * transcript formats.
 */
export async function transcribeBench(options: TranscribeBenchOptions = {}): Promise<BenchReport[]> {
  const repeat = options.repeat ?? 4;
  const parallel = options.parallel ?? 2;
  const rounds = options.rounds ?? 2;
  const base = await clips();
  if (base.length === 0) throw new Error(`no LibriVox clips in ${LIBRIVOX}: apt-get install -y pocketsphinx-testdata`);
  const files = Array.from({ length: repeat }, () => base).flat();
  const audioSeconds = files.reduce((s, c) => s + c.seconds, 0);
  const load = () => loadavg()[0]!.toFixed(1);

  const stack = await startBenchStack({ buckets: ['bench'], sis: true });
  const rows: BenchRow[] = [];
  const best = { bare: Infinity, local: Infinity, sis: Infinity };
  const cpu = { bare: 0, local: 0, sis: 0 };
  try {
    const keys: string[] = [];
    for (const [i, clip] of files.entries()) {
      const key = `in/${i}-${clip.name}`;
      await stack.storage.putObject({ bucket: 'bench', key, body: await readFile(clip.path) });
      keys.push(key);
    }
    const [worker] = await stack.startWorkers(1, { OBSQ_CONCURRENCY_TRANSCRIBE_AUDIO_FILE: String(parallel) });
    // Rows alternate, so a neighbour's load (this machine is shared) hits every kind alike; each
    // round's ratio compares rows run back to back.
    for (let round = 1; round <= rounds; round++) {
      const bareLoad = load();
      const bare = await bareEngine(files, parallel);
      const localLoad = load();
      const local = await throughWorker(stack, worker!.pid, keys, 'local', `local${round}`);
      const sisLoad = load();
      const sis = await throughWorker(stack, worker!.pid, keys, 'sis', `sis${round}`);
      cpu.bare += bare.cpuSeconds;
      cpu.local += local.cpuSeconds;
      cpu.sis += sis.cpuSeconds;
      best.bare = Math.min(best.bare, bare.seconds);
      best.local = Math.min(best.local, local.seconds);
      best.sis = Math.min(best.sis, sis.seconds);
      const cells = (r: { seconds: number; cpuSeconds: number; meanJobSeconds?: number }, l: string) => [
        fixed(r.seconds, 1),
        fixed(audioSeconds / r.seconds, 2),
        fixed(bare.seconds / r.seconds, 2),
        fixed(r.cpuSeconds, 1),
        fixed(audioSeconds / r.cpuSeconds, 2),
        r.meanJobSeconds === undefined ? '–' : fixed(r.meanJobSeconds, 2),
        l,
      ];
      rows.push(
        { label: `round ${round}: bare pocketsphinx_continuous`, cells: cells(bare, bareLoad) },
        { label: `round ${round}: obsq worker, local engine (warm pool)`, cells: cells(local, localLoad) },
        { label: `round ${round}: obsq worker → devstack SIS (pace 0)`, cells: cells(sis, sisLoad) },
      );
    }
  } finally {
    await stack.close();
  }
  const localRatio = best.bare / best.local;
  const sisRatio = best.bare / best.sis;
  return [
    {
      name: 'transcribe',
      setup: `${files.length} files (${base.length} LibriVox clips × ${repeat}), ${fixed(audioSeconds, 1)} s of audio, ${parallel} at a time; one worker with ${parallel} transcription slots; ${rounds} rounds`,
      columns: ['wall s', 'audio s / wall s', 'vs bare', 'CPU s', 'audio s / CPU s', 'mean job s', 'load avg'],
      rows,
      notes: [
        `best of ${rounds}: bare ${fixed(audioSeconds / best.bare, 2)}, local engine ${fixed(audioSeconds / best.local, 2)} (${fixed(localRatio, 2)}×), ` +
          `through SIS ${fixed(audioSeconds / best.sis, 2)} (${fixed(sisRatio, 2)}×) audio s per wall s`,
        `target ≥ 0.90× the bare engine: local ${localRatio >= 0.9 ? 'met' : 'MISSED'}, SIS ${sisRatio >= 0.9 ? 'met' : 'MISSED'}`,
        `CPU over all rounds (not disturbed by other work on the machine, unlike wall time): audio s per CPU s bare ${fixed((rounds * audioSeconds) / cpu.bare, 2)}, ` +
          `local ${fixed((rounds * audioSeconds) / cpu.local, 2)} (${fixed(cpu.bare / cpu.local, 2)}×), SIS ${fixed((rounds * audioSeconds) / cpu.sis, 2)} (${fixed(cpu.bare / cpu.sis, 2)}×)`,
        'CPU s: the engines for the bare row; the worker, its engines and the devstack process (object store, SIS stand-in and its engines) for the others',
        'the worker rows include downloading each object from the devstack, WAV parsing, and uploading 4 transcript formats per file',
        'the bare row starts one process (and loads the model) per file; the worker loads it once per slot, on its first job',
        '"load avg" is the 1-minute load average when the row started: above the CPU count, other work shared the machine',
      ],
    },
  ];
}
