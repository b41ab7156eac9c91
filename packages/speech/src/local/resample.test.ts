import { describe, expect, it } from 'vitest';
import { Upsample16x2, upsamplePcm16x2 } from './resample.js';

describe('Upsample16x2', () => {
  it('gives the same output fed in chunks of any size (odd ones split a sample) as all at once', () => {
    const pcm = Buffer.from(Int16Array.from({ length: 4_001 }, (_, i) => Math.round(Math.sin(i / 3) * 20_000)).buffer);
    const whole = upsamplePcm16x2(pcm);
    expect(whole.length).toBe(pcm.length * 2);
    for (const size of [1, 2, 3, 777, 4_096]) {
      const up = new Upsample16x2();
      const parts: Buffer[] = [];
      for (let i = 0; i < pcm.length; i += size) parts.push(up.process(pcm.subarray(i, i + size)));
      parts.push(up.finish());
      expect(Buffer.concat(parts).equals(whole), `chunks of ${size} bytes`).toBe(true);
    }
  });

  it('interpolates between the last sample of one chunk and the first of the next', () => {
    const up = new Upsample16x2();
    const a = up.process(Buffer.from(Int16Array.of(0, 100).buffer));
    const b = up.process(Buffer.from(Int16Array.of(300).buffer));
    const out = Buffer.concat([a, b, up.finish()]);
    expect([...new Int16Array(out.buffer, out.byteOffset, out.length / 2)]).toEqual([0, 50, 100, 200, 300, 300]);
  });
});
