import { parseSync, type NodeCue } from 'subtitle';
import { describe, expect, it } from 'vitest';
import type { SisSegment } from '@obsq/speech';
import { cueTime, toJson, toSrt, toTxt, toVtt, type TranscriptionResult } from '@obsq/speech';

const seg = (start_time: number, end_time: number, text: string, is_final = true): SisSegment => ({
  start_time,
  end_time,
  is_final,
  result: { text, score: 0.9 },
});

const HOUR = 3_600_000;
const segments: SisSegment[] = [
  seg(0, 1_500, 'go forward ten meters'),
  seg(1_500, 2_000, 'interim only', false),
  seg(61_001, 62_345, '  turn   left\nnow '),
  seg(HOUR + 2 * 60_000 + 3_004, HOUR + 2 * 60_000 + 4_999, 'an hour in'),
  seg(12 * HOUR + 59 * 60_000 + 59_999, 13 * HOUR, 'half a day'),
  seg(70_000, 70_500, ''),
];
/** What the output should contain: finals with text, in time order. */
const expected = [segments[0]!, segments[2]!, segments[3]!, segments[4]!];

function cues(text: string): NodeCue['data'][] {
  return parseSync(text)
    .filter((n): n is NodeCue => n.type === 'cue')
    .map((n) => n.data);
}

describe('cueTime', () => {
  it('formats zero, milliseconds, hours and more than 24 hours', () => {
    expect(cueTime(0, ',')).toBe('00:00:00,000');
    expect(cueTime(0, '.')).toBe('00:00:00.000');
    expect(cueTime(1, ',')).toBe('00:00:00,001');
    expect(cueTime(HOUR + 2 * 60_000 + 3_004, ',')).toBe('01:02:03,004');
    expect(cueTime(100 * HOUR, '.')).toBe('100:00:00.000');
    expect(cueTime(-5, ',')).toBe('00:00:00,000');
    expect(cueTime(999.6, '.')).toBe('00:00:01.000');
  });
});

describe('toSrt', () => {
  it('parses with subtitle: one cue per final segment, same times, 1-based numbering', () => {
    const srt = toSrt(segments);
    const parsed = cues(srt);
    expect(parsed).toHaveLength(expected.length);
    parsed.forEach((c, i) => {
      expect(c.start).toBe(expected[i]!.start_time);
      expect(c.end).toBe(expected[i]!.end_time);
    });
    expect(parsed.map((c) => c.text)).toEqual(['go forward ten meters', 'turn left now', 'an hour in', 'half a day']);
    expect(srt.startsWith('1\n00:00:00,000 --> 00:00:01,500\n')).toBe(true);
    expect(srt).toContain('\n3\n01:02:03,004 --> 01:02:04,999\nan hour in\n');
    expect(srt).toContain('12:59:59,999 --> 13:00:00,000');
  });

  it('gives a zero-length segment a 1 ms cue and an empty list an empty file', () => {
    expect(cues(toSrt([seg(0, 0, 'tick')]))).toEqual([{ start: 0, end: 1, text: 'tick' }]);
    expect(toSrt([])).toBe('');
  });
});

describe('toVtt', () => {
  it('starts with WEBVTT and parses with subtitle to the same cues', () => {
    const vtt = toVtt(segments);
    expect(vtt.startsWith('WEBVTT\n\n')).toBe(true);
    const parsed = cues(vtt);
    expect(parsed).toHaveLength(expected.length);
    parsed.forEach((c, i) => {
      expect(c.start).toBe(expected[i]!.start_time);
      expect(c.end).toBe(expected[i]!.end_time);
    });
    expect(vtt).toContain('01:02:03.004 --> 01:02:04.999');
    expect(vtt).not.toMatch(/\d,\d{3}/);
  });

  it('keeps "-->" out of cue text', () => {
    const parsed = cues(toVtt([seg(0, 10, 'a --> b')]));
    expect(parsed).toEqual([{ start: 0, end: 10, text: 'a -> b' }]);
  });

  it('is a bare header for no segments', () => {
    expect(toVtt([])).toBe('WEBVTT\n');
  });
});

describe('toTxt and toJson', () => {
  it('writes one line per final segment', () => {
    expect(toTxt(segments)).toBe('go forward ten meters\nturn left now\nan hour in\nhalf a day\n');
    expect(toTxt([])).toBe('');
  });

  it('round-trips the result through JSON with SIS field names', () => {
    const result: TranscriptionResult = {
      traceId: 't-1',
      traceIds: ['t-1'],
      engine: 'sis',
      audioFormat: 'pcm16k16bit',
      audioDurationMs: 2786,
      text: 'go forward ten meters',
      segments: [segments[0]!],
    };
    const json = toJson(result);
    expect(json.endsWith('\n')).toBe(true);
    expect(JSON.parse(json)).toEqual(result);
    expect(json).toContain('"start_time": 0');
    expect(json).toContain('"is_final": true');
  });
});
