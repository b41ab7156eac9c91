import { describe, expect, it } from 'vitest';
import { SIS_AUDIO_FORMAT_INFO, SIS_AUDIO_FORMATS } from '../sis/index.js';
import { clampFrameBytes, defaultFrameBytes, planFrames } from './framePlan.js';

describe('planFrames', () => {
  it('uses 100 ms frames by default and clamps sizes to the SIS limits', () => {
    expect(defaultFrameBytes('pcm16k16bit')).toBe(3200);
    expect(defaultFrameBytes('alaw8k8bit')).toBe(1600);
    expect(clampFrameBytes('pcm16k16bit', 10)).toBe(320);
    expect(clampFrameBytes('pcm8k16bit', 1e9)).toBe(32768);
    expect(clampFrameBytes('pcm16k16bit', 3201)).toBe(3200);
  });

  it.each(SIS_AUDIO_FORMATS.flatMap((f) => [0, 1, 100, 3200, 3201, 3519, 89160, 200_001].map((n) => [f, n] as const)))(
    '%s, %i bytes: contiguous, complete, every frame within limits',
    (format, length) => {
      const { minBytes, maxBytes } = SIS_AUDIO_FORMAT_INFO[format].frame;
      for (const size of [1, 3200, 65536]) {
        const frames = planFrames(format, length, size);
        let pos = 0;
        for (const f of frames) {
          expect(f.start).toBe(pos);
          const bytes = f.end - f.start + f.padBytes;
          expect(bytes).toBeGreaterThanOrEqual(minBytes);
          expect(bytes).toBeLessThanOrEqual(maxBytes);
          pos = f.end;
        }
        expect(pos).toBe(length);
      }
    },
  );

  it('merges a short tail into the previous frame instead of sending it undersized', () => {
    expect(planFrames('pcm16k16bit', 3300, 3200)).toEqual([{ start: 0, end: 3300, padBytes: 0 }]);
    expect(planFrames('pcm16k16bit', 100, 3200)).toEqual([{ start: 0, end: 100, padBytes: 220 }]);
  });
});
