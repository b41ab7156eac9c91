/**
 * The six raw audio formats RASR accepts in `config.audio_format` (spec §3.2). Only headerless
 * audio is accepted: strip any WAV header before streaming.
 */
export const SIS_AUDIO_FORMATS = [
  'pcm16k16bit',
  'pcm8k16bit',
  'ulaw16k8bit',
  'ulaw8k8bit',
  'alaw16k8bit',
  'alaw8k8bit',
] as const;

/** One of {@link SIS_AUDIO_FORMATS}. */
export type SisAudioFormat = (typeof SIS_AUDIO_FORMATS)[number];

/** Sample rates RASR models exist for, in Hz. */
export type SisSampleRate = 8000 | 16000;

/** Sample encoding of an audio format: 16-bit little-endian PCM or 8-bit G.711. */
export type SisSampleEncoding = 'pcm_s16le' | 'ulaw' | 'alaw';

/** Size limits of one binary audio frame, in bytes, inclusive (spec §4.1, W-chunk). */
export interface SisFrameLimits {
  minBytes: number;
  maxBytes: number;
}

/** What an `audio_format` value means on the wire. */
export interface SisAudioFormatInfo {
  format: SisAudioFormat;
  /** Samples per second, in Hz. */
  sampleRate: SisSampleRate;
  encoding: SisSampleEncoding;
  /** Bytes per (mono) sample: 2 for PCM, 1 for G.711. */
  bytesPerSample: 1 | 2;
  /** Allowed size of each binary frame; depends on the sample rate only. */
  frame: SisFrameLimits;
}

/** Frame-size limits per sample rate: 8 kHz 160–32768 B, 16 kHz 320–65536 B. */
export const SIS_FRAME_LIMITS: Readonly<Record<SisSampleRate, SisFrameLimits>> = {
  8000: { minBytes: 160, maxBytes: 32768 },
  16000: { minBytes: 320, maxBytes: 65536 },
};

/** Table of every RASR audio format. */
export const SIS_AUDIO_FORMAT_INFO: Readonly<Record<SisAudioFormat, SisAudioFormatInfo>> = {
  pcm16k16bit: { format: 'pcm16k16bit', sampleRate: 16000, encoding: 'pcm_s16le', bytesPerSample: 2, frame: SIS_FRAME_LIMITS[16000] },
  pcm8k16bit: { format: 'pcm8k16bit', sampleRate: 8000, encoding: 'pcm_s16le', bytesPerSample: 2, frame: SIS_FRAME_LIMITS[8000] },
  ulaw16k8bit: { format: 'ulaw16k8bit', sampleRate: 16000, encoding: 'ulaw', bytesPerSample: 1, frame: SIS_FRAME_LIMITS[16000] },
  ulaw8k8bit: { format: 'ulaw8k8bit', sampleRate: 8000, encoding: 'ulaw', bytesPerSample: 1, frame: SIS_FRAME_LIMITS[8000] },
  alaw16k8bit: { format: 'alaw16k8bit', sampleRate: 16000, encoding: 'alaw', bytesPerSample: 1, frame: SIS_FRAME_LIMITS[16000] },
  alaw8k8bit: { format: 'alaw8k8bit', sampleRate: 8000, encoding: 'alaw', bytesPerSample: 1, frame: SIS_FRAME_LIMITS[8000] },
};

/** Type guard for {@link SisAudioFormat}. */
export function isSisAudioFormat(value: unknown): value is SisAudioFormat {
  return typeof value === 'string' && (SIS_AUDIO_FORMATS as readonly string[]).includes(value);
}

/**
 * Sample rate encoded in a `property` (`language_sampleRate_domain`, e.g. `chinese_8k_common`),
 * or `undefined` when the name carries none. The client passes `property` through unvalidated
 * (the real table is larger than documented); only the sample rate must match `audio_format`.
 */
export function propertySampleRate(property: string): SisSampleRate | undefined {
  const m = /(?:^|_)(8|16)k(?:_|$)/.exec(property);
  if (!m) return undefined;
  return m[1] === '8' ? 8000 : 16000;
}

/** Audio duration of `bytes` bytes of `format`, in ms. */
export function audioBytesToMs(format: SisAudioFormat, bytes: number): number {
  const info = SIS_AUDIO_FORMAT_INFO[format];
  return (bytes / info.bytesPerSample / info.sampleRate) * 1000;
}
