import { spawn } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isSuccess } from '../packages/shared/src/index.js';
import { fixed, startBenchStack, type BenchReport, type BenchRow, type BenchStack } from './lib/index.js';

/** Debian `pocketsphinx-testdata`: five 16 kHz mono LibriVox WAVs, 24.7 s of audio together. */
const LIBRIVOX = '/usr/share/pocketsphinx/test/data/librivox';
const REQUEST = { audioFormat: 'pcm16k16bit', property: 'english_16k_common' };

/** Options of {@link transcribeBench}. */
export interface TranscribeBenchOptions {
  /** Each clip is transcribed this many times (as distinct objects). @defaultValue 4 (20 files, 98.9 s) */
  repeat?: number;
  /** Files decoded at once: bare engine processes, and the worker's transcription slots. @defaultValue 2 */
  parallel?: number;
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

/** `pocketsphinx_continuous -infile F -time yes`, `parallel` at a time, as the issue measured it. */
async function bareEngine(files: Clip[], parallel: number): Promise<number> {
  const queue = [...files];
  const started = performance.now();
  const lane = async () => {
    for (let clip = queue.shift(); clip; clip = queue.shift()) {
      const child = spawn('pocketsphinx_continuous', ['-infile', clip.path, '-time', 'yes'], { stdio: ['ignore', 'pipe', 'ignore'] });
      child.stdout.resume();
      const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
      if (code !== 0) throw new Error(`pocketsphinx_continuous exited with ${code} on ${clip.name}`);
    }
  };
  await Promise.all(Array.from({ length: parallel }, lane));
  return (performance.now() - started) / 1000;
}

/** Enqueues one transcription per object and waits for all records; seconds from first enqueue to last record. */
async function throughWorker(stack: BenchStack, keys: string[], engine: 'local' | 'sis', tag: string): Promise<{ seconds: number; meanJobSeconds: number }> {
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
  const failed = records.filter((r) => !isSuccess(r.result));
  if (failed.length > 0) throw new Error(`${failed.length} ${engine} transcriptions failed, e.g. ${failed[0]!.result.errorCode} ${failed[0]!.result.errorMessage}`);
  const queue = stack.producer.queue('transcribe-audio-file');
  let jobSeconds = 0;
  for (const j of jobs) {
    const job = await queue.getJob(j.jobId);
    if (job?.processedOn && job.finishedOn) jobSeconds += (job.finishedOn - job.processedOn) / 1000;
  }
  return { seconds, meanJobSeconds: jobSeconds / jobs.length };
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
  const base = await clips();
  if (base.length === 0) throw new Error(`no LibriVox clips in ${LIBRIVOX}: apt-get install -y pocketsphinx-testdata`);
  const files = Array.from({ length: repeat }, () => base).flat();
  const audioSeconds = files.reduce((s, c) => s + c.seconds, 0);
  const rows: BenchRow[] = [];
  const row = (label: string, seconds: number, meanJob?: number) => {
    rows.push({ label, cells: [fixed(seconds, 1), fixed(audioSeconds / seconds, 2), '', meanJob === undefined ? '–' : fixed(meanJob, 2)] });
    return audioSeconds / seconds;
  };

  const bare = row('bare pocketsphinx_continuous', await bareEngine(files, parallel));

  const stack = await startBenchStack({ buckets: ['bench'], sis: true });
  const notes: string[] = [];
  try {
    const keys: string[] = [];
    for (const [i, clip] of files.entries()) {
      const key = `in/${i}-${clip.name}`;
      await stack.storage.putObject({ bucket: 'bench', key, body: await readFile(clip.path) });
      keys.push(key);
    }
    await stack.startWorkers(1, { OBSQ_CONCURRENCY_TRANSCRIBE_AUDIO_FILE: String(parallel) });
    const local = await throughWorker(stack, keys, 'local', 'local');
    const localRate = row('obsq worker, local engine (warm pool)', local.seconds, local.meanJobSeconds);
    const sis = await throughWorker(stack, keys, 'sis', 'sis');
    const sisRate = row("obsq worker → devstack's SIS (pace 0, warm engines)", sis.seconds, sis.meanJobSeconds);
    rows[0]!.cells[2] = '1.00';
    rows[1]!.cells[2] = fixed(localRate / bare, 2);
    rows[2]!.cells[2] = fixed(sisRate / bare, 2);
    notes.push(
      `target: ≥ 0.90× the bare engine; local engine ${fixed(localRate / bare, 2)}×, through SIS ${fixed(sisRate / bare, 2)}× ` +
        `(${localRate / bare >= 0.9 ? 'met' : 'missed'} / ${sisRate / bare >= 0.9 ? 'met' : 'missed'})`,
      'the worker rows include downloading each object from the devstack, WAV parsing, and uploading 4 transcript formats per file',
      'engines start on the first jobs (model load included, as in the bare row, where every file pays it)',
    );
  } finally {
    await stack.close();
  }
  return [
    {
      name: 'transcribe',
      setup: `${files.length} files (${base.length} LibriVox clips × ${repeat}), ${fixed(audioSeconds, 1)} s of audio, ${parallel} at a time; one worker with ${parallel} transcription slots`,
      columns: ['wall s', 'audio s / wall s', 'vs bare', 'mean job s'],
      rows,
      notes,
    },
  ];
}
