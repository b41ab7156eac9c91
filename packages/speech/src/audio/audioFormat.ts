import { SIS_AUDIO_FORMAT_INFO, SIS_AUDIO_FORMATS, type SisAudioFormat, type SisSampleEncoding } from '../sis/index.js';

/** The SIS format name for an encoding at a sample rate, or `undefined` when SIS has none (e.g. PCM at 44.1 kHz). */
export function audioFormatFor(encoding: SisSampleEncoding, sampleRateHz: number): SisAudioFormat | undefined {
  return SIS_AUDIO_FORMATS.find((f) => {
    const info = SIS_AUDIO_FORMAT_INFO[f];
    return info.encoding === encoding && info.sampleRate === sampleRateHz;
  });
}

/** Bytes of audio per second of `format` (32000 for `pcm16k16bit`). */
export function audioBytesPerSecond(format: SisAudioFormat): number {
  const info = SIS_AUDIO_FORMAT_INFO[format];
  return info.sampleRate * info.bytesPerSample;
}

/** Playing time, in whole ms (rounded down), of `byteLength` bytes of `format`. */
export function audioDurationMs(byteLength: number, format: SisAudioFormat): number {
  return Math.floor((byteLength * 1000) / audioBytesPerSecond(format));
}

/**
 * Byte offset of `ms` into audio of `format`, rounded down to a whole sample so that a slice
 * starting there never splits a 16-bit sample. Negative `ms` gives 0.
 */
export function audioByteOffset(ms: number, format: SisAudioFormat): number {
  const info = SIS_AUDIO_FORMAT_INFO[format];
  const samples = Math.floor((Math.max(0, ms) * info.sampleRate) / 1000);
  return samples * info.bytesPerSample;
}
