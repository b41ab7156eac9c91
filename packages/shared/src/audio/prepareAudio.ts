import { readFile } from 'node:fs/promises';
import { ObsqError, ValidationError, coerceError } from '../errors/index.js';
import { propertySampleRate, SIS_AUDIO_FORMAT_INFO, type SisAudioFormat } from '../sis/index.js';
import { audioDurationMs, audioFormatFor } from './audioFormat.js';
import { assertFormatMatchesProperty } from './formatMismatch.js';
import { convertWithSox, soxAvailable } from './sox.js';
import { WAVE_FORMAT, describeWav, isWav, parseWav, type WavInfo } from './wav.js';

/** Options of {@link prepareAudio}. */
export interface PrepareAudioOptions {
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
}

/** Audio ready to stream to SIS: headerless samples in one of the six SIS formats. */
export interface PreparedAudio {
  /** The `audio_format` to send in START. */
  format: SisAudioFormat;
  /** Headerless sample data, trimmed to whole samples. */
  audio: Buffer;
  /** Playing time in ms. */
  durationMs: number;
  /** `raw`: headerless input; `wav`: WAV passed through; `sox`: WAV converted by sox. */
  source: 'raw' | 'wav' | 'sox';
  /** Layout of the WAV input, e.g. `44100 Hz, 2 channels, 16-bit PCM`; absent for raw input. */
  inputDescription?: string;
}

/** The SIS format a WAV layout maps to without conversion, if any. */
function passThroughFormat(info: WavInfo): SisAudioFormat | undefined {
  if (info.channels !== 1) return undefined;
  if (info.formatTag === WAVE_FORMAT.PCM && info.bitsPerSample === 16) return audioFormatFor('pcm_s16le', info.sampleRateHz);
  if (info.formatTag === WAVE_FORMAT.ALAW && info.bitsPerSample === 8) return audioFormatFor('alaw', info.sampleRateHz);
  if (info.formatTag === WAVE_FORMAT.MULAW && info.bitsPerSample === 8) return audioFormatFor('ulaw', info.sampleRateHz);
  return undefined;
}

function prepared(audio: Buffer, format: SisAudioFormat, source: PreparedAudio['source'], description?: string): PreparedAudio {
  const width = SIS_AUDIO_FORMAT_INFO[format].bytesPerSample;
  const whole = audio.subarray(0, audio.length - (audio.length % width));
  return {
    format,
    audio: whole,
    durationMs: audioDurationMs(whole.length, format),
    source,
    ...(description === undefined ? {} : { inputDescription: description }),
  };
}

/**
 * Turns a WAV file or headerless audio (a Buffer or a file path) into samples SIS accepts.
 *
 * - WAV that is already mono 16-bit PCM, 8-bit A-law or 8-bit µ-law at 8/16 kHz passes through,
 *   and its header decides `format`.
 * - Other WAV layouts go through sox to 16-bit mono PCM at the property's rate (16 kHz unless
 *   the property names 8k); without sox they are refused, naming the layout and the fix.
 * - Headerless input takes `options.format`.
 * - With `options.property`, a sample-rate mismatch is refused before anything connects.
 *
 * All refusals are permanent errors.
 */
export async function prepareAudio(input: Buffer | string, options: PrepareAudioOptions = {}): Promise<PreparedAudio> {
  let buf: Buffer;
  if (typeof input === 'string') {
    try {
      buf = await readFile(input, options.signal ? { signal: options.signal } : {});
    } catch (err) {
      const e = coerceError(err);
      if (e.name === 'AbortError') throw new ObsqError('OBSQ_ABORTED', 'reading audio aborted', { cause: e });
      throw new ObsqError('OBSQ_AUDIO', `cannot read audio file ${input}: ${e.message}`, { permanent: true, cause: e });
    }
  } else {
    buf = input;
  }

  let result: PreparedAudio;
  if (isWav(buf)) {
    const info = parseWav(buf);
    const description = describeWav(info);
    const direct = passThroughFormat(info);
    if (direct) {
      result = prepared(info.data, direct, 'wav', description);
    } else {
      const canConvert = (options.convert ?? true) && (await soxAvailable({ soxPath: options.soxPath }));
      if (!canConvert) {
        throw new ObsqError(
          'OBSQ_AUDIO',
          `unsupported WAV audio (${description}): SIS takes mono 16-bit PCM or 8-bit A-law/µ-law at 8 or 16 kHz. ` +
            'Install sox to convert it automatically (apt-get install sox), or convert it first, ' +
            'e.g. sox in.wav -r 16000 -b 16 -c 1 -e signed-integer out.wav',
          { permanent: true, details: { wav: description } },
        );
      }
      const rate = options.property ? propertySampleRate(options.property) : undefined;
      const target = audioFormatFor('pcm_s16le', rate === 8000 ? 8000 : 16000)!;
      const pcm = await convertWithSox(buf, info, {
        soxPath: options.soxPath,
        signal: options.signal,
        targetRateHz: rate === 8000 ? 8000 : 16000,
      });
      result = prepared(pcm, target, 'sox', description);
    }
  } else {
    if (!options.format) {
      throw new ValidationError([{ field: 'format', rule: 'is required for headerless (raw) audio' }]);
    }
    result = prepared(buf, options.format, 'raw');
  }

  if (options.property) assertFormatMatchesProperty(result.format, options.property);
  return result;
}
