import { SIS_AUDIO_FORMAT_INFO, type SisAudioFormat } from '../sis/index.js';

/** Default frame size: 100 ms of 16-bit audio (3200 B at 16 kHz, 1600 B at 8 kHz). */
export function defaultFrameBytes(format: SisAudioFormat): number {
  return SIS_AUDIO_FORMAT_INFO[format].sampleRate === 16000 ? 3200 : 1600;
}

/** `frameBytes` clamped to SIS's limits for the format's rate and rounded down to whole samples. */
export function clampFrameBytes(format: SisAudioFormat, frameBytes: number): number {
  const info = SIS_AUDIO_FORMAT_INFO[format];
  const clamped = Math.min(info.frame.maxBytes, Math.max(info.frame.minBytes, Math.floor(frameBytes)));
  return clamped - (clamped % info.bytesPerSample);
}

/** One binary frame to send: `audio.subarray(start, end)`, then `padBytes` of silence. */
export interface FrameSlice {
  start: number;
  end: number;
  /** Silence appended so that a lone, tiny frame reaches the minimum size. */
  padBytes: number;
}

/**
 * Splits `length` bytes into frames of `frameBytes` that all respect SIS's size limits
 * (spec §4.1). A short tail is merged into the frame before it (split evenly in two when the
 * merge would exceed the maximum) instead of being sent undersized, as the Python SDK does; a
 * whole input smaller than the minimum is padded with silence.
 */
export function planFrames(format: SisAudioFormat, length: number, frameBytes: number): FrameSlice[] {
  return [...iterateFrames(format, length, frameBytes)];
}

/**
 * Lazy form of {@link planFrames}: the same frames, one at a time, so that hours of audio never
 * need a frame list in memory.
 */
export function* iterateFrames(format: SisAudioFormat, length: number, frameBytes: number): Generator<FrameSlice, void, undefined> {
  const info = SIS_AUDIO_FORMAT_INFO[format];
  const { minBytes, maxBytes } = info.frame;
  const size = clampFrameBytes(format, frameBytes);
  if (length <= 0) return;
  const count = Math.ceil(length / size);
  const lastStart = (count - 1) * size;
  if (count === 1) {
    yield { start: 0, end: length, padBytes: Math.max(0, minBytes - length) };
    return;
  }
  const tailIsShort = length - lastStart < minBytes;
  // A short tail is merged into the frame before it, so the regular frames stop one earlier.
  const regular = tailIsShort ? count - 2 : count;
  for (let i = 0; i < regular; i++) {
    const start = i * size;
    yield { start, end: Math.min(length, start + size), padBytes: 0 };
  }
  if (!tailIsShort) return;
  const start = (count - 2) * size;
  const merged = length - start;
  if (merged <= maxBytes) {
    yield { start, end: length, padBytes: 0 };
    return;
  }
  let half = Math.floor(merged / 2);
  half -= half % info.bytesPerSample;
  yield { start, end: start + half, padBytes: 0 };
  yield { start: start + half, end: length, padBytes: 0 };
}

/** One byte of digital silence in `format`: 0 for PCM, 0xD5 for A-law, 0xFF for µ-law. */
export function silenceByte(format: SisAudioFormat): number {
  const enc = SIS_AUDIO_FORMAT_INFO[format].encoding;
  return enc === 'alaw' ? 0xd5 : enc === 'ulaw' ? 0xff : 0;
}
