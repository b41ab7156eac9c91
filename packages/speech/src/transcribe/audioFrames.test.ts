import { describe, expect, it } from 'vitest';
import { bufferAudioRange, type AudioRange } from '../audio/index.js';
import { type SisAudioFormat } from '../sis/index.js';
import { audioFrames } from './audioFrames.js';
import { planFrames, silenceByte } from './framePlan.js';

/** A range that yields `audio` in chunks of `size` bytes and records how far it was read. */
function chunkedRange(audio: Buffer, size: number, log: { reads: number; closed: boolean }): AudioRange {
  return {
    byteLength: audio.length,
    async *chunks() {
      try {
        for (let i = 0; i < audio.length; i += size) {
          log.reads++;
          yield Buffer.from(audio.subarray(i, i + size));
        }
      } finally {
        log.closed = true;
      }
    },
    slice: () => {
      throw new Error('not used');
    },
  };
}

const bytes = (n: number) => Buffer.from(Array.from({ length: n }, (_, i) => (i * 7) % 256));

describe('audioFrames', () => {
  it.each([
    ['pcm16k16bit', 100, 3200, 1000],
    ['pcm16k16bit', 3300, 3200, 7],
    ['pcm16k16bit', 89_160, 3200, 65_536],
    ['pcm16k16bit', 200_001 - 1, 65_536, 4_096],
    ['alaw8k8bit', 33_001, 32_768, 1_000],
    ['ulaw16k8bit', 12_345, 1_600, 3_333],
  ] as Array<[SisAudioFormat, number, number, number]>)(
    '%s, %i bytes, %i-byte frames from %i-byte reads: the frames of planFrames with the right bytes',
    async (format, length, frameBytes, readSize) => {
      const audio = bytes(length);
      const log = { reads: 0, closed: false };
      const got = [];
      for await (const f of audioFrames(chunkedRange(audio, readSize, log), format, frameBytes)) got.push(f);
      const plan = planFrames(format, length, frameBytes);
      expect(got.map(({ start, end, padBytes }) => ({ start, end, padBytes }))).toEqual(plan);
      for (const f of got) {
        const expected = Buffer.concat([audio.subarray(f.start, f.end), Buffer.alloc(f.padBytes, silenceByte(format))]);
        expect(f.data.equals(expected)).toBe(true);
      }
      expect(log.closed).toBe(true);
    },
  );

  it('reads ahead no more than a frame needs, and stops reading when the consumer breaks', async () => {
    const log = { reads: 0, closed: false };
    const frames = audioFrames(chunkedRange(bytes(1_000_000), 10_000, log), 'pcm16k16bit', 3200);
    let n = 0;
    for await (const f of frames) {
      expect(log.reads).toBe(Math.ceil(f.end / 10_000));
      if (++n === 5) break;
    }
    expect(log.reads).toBe(2);
    expect(log.closed).toBe(true);
  });

  it('sends views of an in-memory range, no copies', async () => {
    const audio = bytes(10_000);
    for await (const f of audioFrames(bufferAudioRange(audio), 'pcm16k16bit', 3200)) {
      expect(f.data.buffer).toBe(audio.buffer);
    }
  });

  it('refuses a range that ends before its byteLength', async () => {
    const short: AudioRange = { ...chunkedRange(bytes(5_000), 1_000, { reads: 0, closed: false }), byteLength: 8_000 };
    await expect(async () => {
      for await (const _ of audioFrames(short, 'pcm16k16bit', 3200)) void _;
    }).rejects.toMatchObject({ code: 'OBSQ_AUDIO', message: expect.stringMatching(/ended at byte 5000, expected 8000/) });
  });
});
