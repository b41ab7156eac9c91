import { spawn } from 'node:child_process';
import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { ObsqError, coerceError } from '@obsq/shared';
import { WAVE_FORMAT, type WavHeader, type WavInfo } from './wav.js';

/** Options of {@link convertWithSox} and {@link soxAvailable}. */
export interface SoxOptions {
  /**
   * The sox executable (a name looked up in `PATH`, or a path).
   * @defaultValue `'sox'`
   */
  soxPath?: string;
  /** Aborts the conversion (kills sox). */
  signal?: AbortSignal;
  /**
   * Output sample rate in Hz.
   * @defaultValue 16000
   */
  targetRateHz?: 8000 | 16000;
}

const availability = new Map<string, Promise<boolean>>();

/** True when `sox --version` runs. Cached per executable for the life of the process. */
export function soxAvailable(options: { soxPath?: string | undefined } = {}): Promise<boolean> {
  const bin = options.soxPath ?? 'sox';
  let probe = availability.get(bin);
  if (!probe) {
    probe = new Promise<boolean>((resolve) => {
      const child = spawn(bin, ['--version'], { stdio: 'ignore' });
      child.once('error', () => resolve(false));
      child.once('exit', (code) => resolve(code === 0));
    });
    availability.set(bin, probe);
  }
  return probe;
}

/** sox input arguments describing the raw sample data of `info`, or undefined if sox should read the WAV header itself. */
function rawInputArgs(info: Pick<WavHeader, 'formatTag' | 'sampleRateHz' | 'channels' | 'bitsPerSample'>): string[] | undefined {
  const common = ['-r', String(info.sampleRateHz), '-c', String(info.channels), '-b', String(info.bitsPerSample)];
  switch (info.formatTag) {
    case WAVE_FORMAT.PCM:
      return ['-t', 'raw', '-e', info.bitsPerSample <= 8 ? 'unsigned-integer' : 'signed-integer', ...common];
    case WAVE_FORMAT.IEEE_FLOAT:
      return ['-t', 'raw', '-e', 'floating-point', ...common];
    case WAVE_FORMAT.ALAW:
      return ['-t', 'raw', '-e', 'a-law', ...common];
    case WAVE_FORMAT.MULAW:
      return ['-t', 'raw', '-e', 'u-law', ...common];
    default:
      return undefined;
  }
}

function outputArgs(options: SoxOptions): string[] {
  return ['-t', 'raw', '-r', String(options.targetRateHz ?? 16000), '-e', 'signed-integer', '-b', '16', '-c', '1', '-L'];
}

/**
 * Runs sox with `args`, writing `input` to its stdin (a Buffer, or a stream piped with
 * back-pressure; nothing when undefined), and resolves with its stdout when `collect` is set.
 */
function runSox(bin: string, args: string[], input: Buffer | Readable | undefined, collect: boolean, options: SoxOptions): Promise<Buffer> {
  return new Promise<Buffer>((resolve, reject) => {
    if (options.signal?.aborted) {
      reject(new ObsqError('OBSQ_ABORTED', 'audio conversion aborted', { cause: options.signal.reason }));
      return;
    }
    const child = spawn(bin, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let stderr = '';
    let settled = false;
    const onAbort = () => child.kill('SIGKILL');
    options.signal?.addEventListener('abort', onAbort, { once: true });
    const finish = (err: Error | undefined, value?: Buffer) => {
      if (settled) return;
      settled = true;
      options.signal?.removeEventListener('abort', onAbort);
      if (input && !Buffer.isBuffer(input)) input.destroy();
      if (err) reject(err);
      else resolve(value!);
    };
    child.stdout.on('data', (d: Buffer) => {
      if (collect) out.push(d);
    });
    child.stderr.on('data', (d: Buffer) => {
      if (stderr.length < 4096) stderr += d.toString();
    });
    // sox may exit before reading all of stdin (bad input); the exit code reports that.
    child.stdin.on('error', () => {});
    child.once('error', (e) =>
      finish(new ObsqError('OBSQ_AUDIO', `could not run ${bin}: ${e.message}`, { permanent: true, cause: e })),
    );
    child.once('close', (code, sig) => {
      if (options.signal?.aborted) {
        finish(new ObsqError('OBSQ_ABORTED', 'audio conversion aborted', { cause: coerceError(options.signal.reason) }));
      } else if (code === 0) {
        finish(undefined, Buffer.concat(out));
      } else {
        finish(
          new ObsqError('OBSQ_AUDIO', `sox failed (${code ?? sig}): ${stderr.trim() || 'no output'}`, { permanent: true }),
        );
      }
    });
    if (input === undefined) {
      child.stdin.end();
    } else if (Buffer.isBuffer(input)) {
      child.stdin.end(input);
    } else {
      input.once('error', (e) => {
        child.kill('SIGKILL');
        finish(new ObsqError('OBSQ_AUDIO', `cannot read audio for sox: ${e.message}`, { permanent: true, cause: e }));
      });
      input.pipe(child.stdin);
    }
  });
}

/**
 * Converts a WAV file's audio to 16-bit mono signed little-endian PCM at 16 kHz (`pcm16k16bit`,
 * or 8 kHz with `targetRateHz: 8000`)
 * with a `sox` child process. `info` is the parsed header of `wav`; known encodings are fed to
 * sox as raw samples with explicit parameters so that headers sox dislikes (streamed sizes,
 * extensible fmt chunks) do not matter. Throws a permanent `OBSQ_AUDIO` error when sox fails.
 */
export function convertWithSox(wav: Buffer, info: WavInfo, options: SoxOptions = {}): Promise<Buffer> {
  const bin = options.soxPath ?? 'sox';
  const raw = rawInputArgs(info);
  const args = ['-V1', ...(raw ?? ['-t', 'wav']), '-', ...outputArgs(options), '-'];
  return runSox(bin, args, raw ? info.data : wav, true, options);
}

/**
 * File-to-file form of {@link convertWithSox}, for audio too long to hold in memory: the sample
 * data of the WAV file at `inputPath` (located by `header`) is streamed into sox, which writes
 * headerless PCM to `outputPath`. Memory use does not depend on the file's length.
 */
export async function convertFileWithSox(inputPath: string, header: WavHeader, outputPath: string, options: SoxOptions = {}): Promise<void> {
  const bin = options.soxPath ?? 'sox';
  const raw = rawInputArgs(header);
  const output = [...outputArgs(options), outputPath];
  if (!raw) {
    await runSox(bin, ['-V1', '-t', 'wav', inputPath, ...output], undefined, false, options);
    return;
  }
  const input =
    header.dataLength > 0
      ? createReadStream(inputPath, { start: header.dataOffset, end: header.dataOffset + header.dataLength - 1 })
      : undefined;
  await runSox(bin, ['-V1', ...raw, '-', ...output], input, false, options);
}
