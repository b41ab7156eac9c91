import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ObsqError, ValidationError, coerceError } from '@obsq/shared';
import { propertySampleRate, SIS_AUDIO_FORMAT_INFO, type SisAudioFormat } from '../sis/index.js';
import { audioDurationMs, audioFormatFor } from './audioFormat.js';
import { bufferAudioRange, fileAudioRange, type AudioRange } from './audioRange.js';
import { assertFormatMatchesProperty } from './formatMismatch.js';
import { convertFileWithSox, convertWithSox, soxAvailable } from './sox.js';
import { WAV_MAGIC_BYTES, WAVE_FORMAT, describeWav, isWav, parseWav, readWavHeader, type WavHeader } from './wav.js';

/** Options of {@link openAudio} (and `prepareAudio`). */
export interface OpenAudioOptions {
  /**
   * Format of headerless input (required for it). Ignored for WAV input, whose header decides.
   */
  format?: SisAudioFormat;
  /**
   * SIS `property` (e.g. `chinese_16k_general`). When given, a sample-rate mismatch with the
   * audio format is refused up front (SIS.0301), and sox converts to the property's rate.
   */
  property?: string;
  /**
   * Convert WAV layouts SIS cannot take (stereo, 44.1 kHz, 24-bit, float, ...) with sox.
   * When false, or when sox is missing, such files are refused.
   * @defaultValue true
   */
  convert?: boolean;
  /** sox executable. @defaultValue `'sox'` */
  soxPath?: string;
  /** Aborts reading or converting. */
  signal?: AbortSignal;
  /**
   * Directory under which sox writes its converted copy of a file input (in a private
   * subdirectory removed by {@link AudioSource.close}).
   * @defaultValue `os.tmpdir()`
   */
  tmpDir?: string;
  /**
   * Bytes per positional read of a file input, i.e. the most one reader of its samples holds.
   * @defaultValue 65536 (64 KiB)
   */
  readBytes?: number;
}

/**
 * Audio ready to stream to SIS, opened for reading: headerless samples in one of the six SIS
 * formats. File input stays on disk and is read on demand; close the source when done.
 */
export interface AudioSource extends AsyncDisposable {
  /** The `audio_format` to send in START. */
  readonly format: SisAudioFormat;
  /** The headerless sample data, trimmed to whole samples. */
  readonly data: AudioRange;
  /** Playing time in ms. */
  readonly durationMs: number;
  /** `raw`: headerless input; `wav`: WAV passed through; `sox`: WAV converted by sox. */
  readonly source: 'raw' | 'wav' | 'sox';
  /** Layout of the WAV input, e.g. `44100 Hz, 2 channels, 16-bit PCM`; absent for raw input. */
  readonly inputDescription?: string;
  /** Closes the file and removes sox's temporary copy. Idempotent; never throws. */
  close(): Promise<void>;
}

/** The SIS format a WAV layout maps to without conversion, if any. */
function passThroughFormat(info: Pick<WavHeader, 'formatTag' | 'channels' | 'bitsPerSample' | 'sampleRateHz'>): SisAudioFormat | undefined {
  if (info.channels !== 1) return undefined;
  if (info.formatTag === WAVE_FORMAT.PCM && info.bitsPerSample === 16) return audioFormatFor('pcm_s16le', info.sampleRateHz);
  if (info.formatTag === WAVE_FORMAT.ALAW && info.bitsPerSample === 8) return audioFormatFor('alaw', info.sampleRateHz);
  if (info.formatTag === WAVE_FORMAT.MULAW && info.bitsPerSample === 8) return audioFormatFor('ulaw', info.sampleRateHz);
  return undefined;
}

/** Bytes of `length` that form whole samples of `format`. */
function wholeSamples(length: number, format: SisAudioFormat): number {
  return length - (length % SIS_AUDIO_FORMAT_INFO[format].bytesPerSample);
}

/** The refusal for a layout SIS cannot take, or undefined when sox may convert it. */
async function conversionRefusal(description: string, options: OpenAudioOptions): Promise<ObsqError | undefined> {
  const canConvert = (options.convert ?? true) && (await soxAvailable({ soxPath: options.soxPath }));
  if (canConvert) return undefined;
  return new ObsqError(
    'OBSQ_AUDIO',
    `unsupported WAV audio (${description}): SIS takes mono 16-bit PCM or 8-bit A-law/µ-law at 8 or 16 kHz. ` +
      'Install sox to convert it automatically (apt-get install sox), or convert it first, ' +
      'e.g. sox in.wav -r 16000 -b 16 -c 1 -e signed-integer out.wav',
    { permanent: true, details: { wav: description } },
  );
}

/** sox's output rate: the property's, 16 kHz unless it names 8k. */
function soxTargetRate(options: OpenAudioOptions): 8000 | 16000 {
  return (options.property ? propertySampleRate(options.property) : undefined) === 8000 ? 8000 : 16000;
}

function makeSource(
  fields: { format: SisAudioFormat; data: AudioRange; source: AudioSource['source']; inputDescription?: string | undefined },
  close: () => Promise<void> = () => Promise.resolve(),
): AudioSource {
  let closing: Promise<void> | undefined;
  const closeOnce = () => (closing ??= close().catch(() => undefined));
  return {
    format: fields.format,
    data: fields.data,
    durationMs: audioDurationMs(fields.data.byteLength, fields.format),
    source: fields.source,
    ...(fields.inputDescription === undefined ? {} : { inputDescription: fields.inputDescription }),
    close: closeOnce,
    [Symbol.asyncDispose]: closeOnce,
  };
}

/** The `readBytes` of a file range, when the caller set one. */
function readSize(options: OpenAudioOptions): { readBytes?: number } {
  return options.readBytes === undefined ? {} : { readBytes: options.readBytes };
}

function abortedError(signal: AbortSignal): ObsqError {
  return new ObsqError('OBSQ_ABORTED', 'reading audio aborted', { cause: signal.reason });
}

function readError(path: string, err: unknown, signal: AbortSignal | undefined): ObsqError {
  const e = coerceError(err);
  if (e instanceof ObsqError) return e;
  if (signal?.aborted || e.name === 'AbortError') return new ObsqError('OBSQ_ABORTED', 'reading audio aborted', { cause: e });
  return new ObsqError('OBSQ_AUDIO', `cannot read audio file ${path}: ${e.message}`, { permanent: true, cause: e });
}

function openBuffer(buf: Buffer, options: OpenAudioOptions): Promise<AudioSource> | AudioSource {
  if (!isWav(buf)) {
    if (!options.format) throw new ValidationError([{ field: 'format', rule: 'is required for headerless (raw) audio' }]);
    return makeSource({ format: options.format, data: bufferAudioRange(buf.subarray(0, wholeSamples(buf.length, options.format))), source: 'raw' });
  }
  const info = parseWav(buf);
  const description = describeWav(info);
  const direct = passThroughFormat(info);
  if (direct) {
    return makeSource({ format: direct, data: bufferAudioRange(info.data.subarray(0, wholeSamples(info.data.length, direct))), source: 'wav', inputDescription: description });
  }
  return (async () => {
    const refusal = await conversionRefusal(description, options);
    if (refusal) throw refusal;
    const rate = soxTargetRate(options);
    const target = audioFormatFor('pcm_s16le', rate)!;
    const pcm = await convertWithSox(buf, info, { soxPath: options.soxPath, signal: options.signal, targetRateHz: rate });
    return makeSource({ format: target, data: bufferAudioRange(pcm.subarray(0, wholeSamples(pcm.length, target))), source: 'sox', inputDescription: description });
  })();
}

async function openFile(path: string, options: OpenAudioOptions): Promise<AudioSource> {
  const { signal } = options;
  // Released in LIFO order on failure, or by the source's close().
  const releasers: Array<() => Promise<void>> = [];
  const release = async () => {
    for (const r of releasers.splice(0).reverse()) {
      try {
        await r();
      } catch {
        // Best effort: a temp file left behind must not mask the transcription's outcome.
      }
    }
  };
  try {
    if (signal?.aborted) throw abortedError(signal);
    const handle = await open(path, 'r');
    releasers.push(() => handle.close());
    const { size } = await handle.stat();
    const magic = Buffer.alloc(Math.min(WAV_MAGIC_BYTES, size));
    if (magic.length) await handle.read(magic, 0, magic.length, 0);
    if (signal?.aborted) throw abortedError(signal);

    if (!isWav(magic)) {
      if (!options.format) throw new ValidationError([{ field: 'format', rule: 'is required for headerless (raw) audio' }]);
      const data = fileAudioRange({ file: handle, path, offset: 0, byteLength: wholeSamples(size, options.format), ...readSize(options) });
      return makeSource({ format: options.format, data, source: 'raw' }, release);
    }

    const header = await readWavHeader(handle, size);
    const description = describeWav(header);
    const direct = passThroughFormat(header);
    if (direct) {
      const data = fileAudioRange({
        file: handle,
        path,
        offset: header.dataOffset,
        byteLength: wholeSamples(header.dataLength, direct),
        ...readSize(options),
      });
      return makeSource({ format: direct, data, source: 'wav', inputDescription: description }, release);
    }

    const refusal = await conversionRefusal(description, options);
    if (refusal) throw refusal;
    // sox converts file to file: the converted audio (hours of it, possibly) never sits in memory.
    const dir = await mkdtemp(join(options.tmpDir ?? tmpdir(), 'obsq-sox-'));
    releasers.push(() => rm(dir, { recursive: true, force: true }));
    const rate = soxTargetRate(options);
    const target = audioFormatFor('pcm_s16le', rate)!;
    const converted = join(dir, 'audio.raw');
    await convertFileWithSox(path, header, converted, { soxPath: options.soxPath, signal, targetRateHz: rate });
    const convertedFile = await open(converted, 'r');
    releasers.push(() => convertedFile.close());
    const { size: convertedSize } = await convertedFile.stat();
    const data = fileAudioRange({
      file: convertedFile,
      path: converted,
      offset: 0,
      byteLength: wholeSamples(convertedSize, target),
      ...readSize(options),
    });
    return makeSource({ format: target, data, source: 'sox', inputDescription: description }, release);
  } catch (err) {
    await release();
    throw readError(path, err, signal);
  }
}

/**
 * Opens a WAV file or headerless audio (a Buffer or a file path) as samples SIS accepts, without
 * loading a file into memory: only the WAV header is read up front, and the samples are read on
 * demand through {@link AudioSource.data}.
 *
 * - WAV that is already mono 16-bit PCM, 8-bit A-law or 8-bit µ-law at 8/16 kHz passes through,
 *   and its header decides `format`.
 * - Other WAV layouts go through sox to 16-bit mono PCM at the property's rate (16 kHz unless
 *   the property names 8k), file to temporary file for a path; without sox they are refused,
 *   naming the layout and the fix.
 * - Headerless input takes `options.format`.
 * - With `options.property`, a sample-rate mismatch is refused before anything connects.
 *
 * All refusals are permanent errors. The caller must `close()` the source (or `await using` it).
 */
export async function openAudio(input: Buffer | string, options: OpenAudioOptions = {}): Promise<AudioSource> {
  const source = typeof input === 'string' ? await openFile(input, options) : await openBuffer(input, options);
  if (options.property) {
    try {
      assertFormatMatchesProperty(source.format, options.property);
    } catch (err) {
      await source.close();
      throw err;
    }
  }
  return source;
}
