import { describe, expect, it } from 'vitest';
import { PocketsphinxOutputParser, utteranceToSegment } from './pocketsphinxOutput.js';
import { upsamplePcm16x2, Upsample16x2 } from './resample.js';

const GOFORWARD = `go forward ten meters
<s> 0.000 0.240 1.000000
<sil> 0.250 0.450 0.706282
go 0.460 0.630 0.997303
forward 0.640 1.160 0.996207
ten(2) 1.170 1.520 0.243981
[NOISE] 1.530 1.600 0.5
meters 1.610 2.110 0.806360
</s> 2.120 2.600 1.000000
`;

describe('PocketsphinxOutputParser', () => {
  it('parses an utterance split across chunks and closes it at </s>', () => {
    const p = new PocketsphinxOutputParser();
    expect(p.push(GOFORWARD.slice(0, 50))).toEqual([]);
    const [utt, ...rest] = p.push(GOFORWARD.slice(50));
    expect(rest).toEqual([]);
    expect(utt?.hypothesis).toBe('go forward ten meters');
    expect(utt?.words).toHaveLength(8);
    expect(p.pending).toBe(false);
  });

  it('closes an utterance without </s> at the next hypothesis line or on flush', () => {
    const p = new PocketsphinxOutputParser();
    expect(p.push('go for\n<s> 2.370 2.460 0.999600\ngo 2.470 2.640 0.39\nfor 2.650 2.920 1.000000\n')).toEqual([]);
    expect(p.pending).toBe(true);
    const done = p.push('ten meter\nten 3.510 3.930 0.019535\n');
    expect(done.map((u) => u.hypothesis)).toEqual(['go for']);
    expect(p.flush().map((u) => u.hypothesis)).toEqual(['ten meter']);
  });

  it('keeps empty utterances (noise only) so they can be skipped', () => {
    const p = new PocketsphinxOutputParser();
    const [utt] = p.push('\n<s> 0.000 0.200 0.999800\n</s> 0.210 0.960 1.000000\n');
    expect(utt?.hypothesis).toBe('');
    expect(utteranceToSegment(utt!, true)).toBeUndefined();
  });
});

describe('utteranceToSegment', () => {
  const [utt] = new PocketsphinxOutputParser().push(GOFORWARD);

  it('drops fillers, strips alternates and averages word posteriors into the score', () => {
    const seg = utteranceToSegment(utt!, true);
    expect(seg).toMatchObject({ start_time: 460, end_time: 2120, is_final: true, result: { text: 'go forward ten meters' } });
    expect(seg?.result.score).toBeCloseTo((0.997303 + 0.996207 + 0.243981 + 0.80636) / 4, 4);
    expect(seg?.result.word_info).toEqual([
      { start_time: 460, end_time: 640, word: 'go' },
      { start_time: 640, end_time: 1170, word: 'forward' },
      { start_time: 1170, end_time: 1530, word: 'ten' },
      { start_time: 1610, end_time: 2120, word: 'meters' },
    ]);
  });

  it('omits word_info unless asked and clamps posteriors above 1', () => {
    const seg = utteranceToSegment({ hypothesis: 'so', words: [{ word: 'so', startSec: 1, endSec: 1.1, posterior: 1.0002 }] }, false);
    expect(seg?.result).toEqual({ text: 'so', score: 1 });
  });
});

describe('upsamplePcm16x2', () => {
  const pcm = (...s: number[]) => Buffer.from(Int16Array.from(s).buffer);
  const samples = (b: Buffer) => Array.from(new Int16Array(b.buffer, b.byteOffset, b.length / 2));

  it('doubles the samples with linear interpolation', () => {
    expect(samples(upsamplePcm16x2(pcm(0, 100, -100)))).toEqual([0, 50, 100, 0, -100, -100]);
  });

  it('streams across odd chunk boundaries with the same output', () => {
    const input = pcm(1000, -2000, 3000, 32767, -32768, 7);
    const up = new Upsample16x2();
    const parts = [input.subarray(0, 3), input.subarray(3, 4), input.subarray(4, 11), input.subarray(11)].map((c) => up.process(c));
    expect(samples(Buffer.concat([...parts, up.finish()]))).toEqual(samples(upsamplePcm16x2(input)));
  });
});
