import type { SisSegment } from '../sis/index.js';
import { cueSegments, cueText } from './cueText.js';
import { cueTime } from './cueTime.js';

/**
 * WebVTT subtitles: the `WEBVTT` header, then one cue per final segment with text, numbered
 * from 1, times `HH:MM:SS.mmm`. An end time not after the start is bumped to start + 1 ms.
 */
export function toVtt(segments: readonly SisSegment[]): string {
  const cues = cueSegments(segments).map((s, i) => {
    const end = Math.max(s.end_time, s.start_time + 1);
    return `${i + 1}\n${cueTime(s.start_time, '.')} --> ${cueTime(end, '.')}\n${cueText(s)}\n`;
  });
  return ['WEBVTT\n', ...cues].join('\n');
}
