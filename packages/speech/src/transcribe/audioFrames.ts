import { ObsqError } from '@obsq/shared';
import { type AudioRange } from '../audio/index.js';
import { type SisAudioFormat } from '../sis/index.js';
import { iterateFrames, silenceByte, type FrameSlice } from './framePlan.js';

/** One binary frame ready to send: its place in the audio and its bytes (padding included). */
export interface AudioFrame extends FrameSlice {
  /** `end - start` bytes of audio, then `padBytes` of silence. */
  data: Buffer;
}

/**
 * The frames of {@link iterateFrames} over `audio`, read as they are asked for: at most one read
 * chunk of the range (plus the part of the previous one a frame still needs) is held at a time,
 * so memory does not grow with the audio's length. Frames of an in-memory range are views of it.
 * Breaking out of the iteration stops reading.
 * @throws ObsqError `OBSQ_AUDIO` when the range yields fewer bytes than its `byteLength`, and
 *   whatever reading the range throws.
 */
export async function* audioFrames(
  audio: AudioRange,
  format: SisAudioFormat,
  frameBytes: number,
  signal?: AbortSignal,
): AsyncGenerator<AudioFrame, void, undefined> {
  const source = audio.chunks(signal ? { signal } : {})[Symbol.asyncIterator]();
  // Unsent bytes: `pending` holds the audio from offset `pendingStart` on.
  let pending: Buffer[] = [];
  let pendingStart = 0;
  let pendingBytes = 0;
  try {
    for (const frame of iterateFrames(format, audio.byteLength, frameBytes)) {
      while (pendingStart + pendingBytes < frame.end) {
        const next = await source.next();
        if (next.done) {
          throw new ObsqError('OBSQ_AUDIO', `audio ended at byte ${pendingStart + pendingBytes}, expected ${audio.byteLength}`, { permanent: true });
        }
        pending.push(next.value);
        pendingBytes += next.value.length;
      }
      // Frames are contiguous from 0, so the frame starts at `pendingStart`.
      const length = frame.end - frame.start;
      // A frame spanning read chunks gets them joined; otherwise it is a view, no copy.
      if (pending[0]!.length < length) pending = [Buffer.concat(pending, pendingBytes)];
      const head = pending[0]!;
      let data = head.subarray(0, length);
      pending = head.length > length ? [head.subarray(length), ...pending.slice(1)] : pending.slice(1);
      pendingStart = frame.end;
      pendingBytes -= length;
      if (frame.padBytes > 0) data = Buffer.concat([data, Buffer.alloc(frame.padBytes, silenceByte(format))]);
      yield { ...frame, data };
    }
  } finally {
    await source.return?.();
  }
}
