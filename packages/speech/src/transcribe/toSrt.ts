import type { SisSegment } from '../sis/index.js';
import { cueSegments, cueText } from './cueText.js';
import { cueTime } from './cueTime.js';

/**
 * SubRip subtitles: one cue per final segment with text, numbered from 1, times
 * `HH:MM:SS,mmm`, cues separated by a blank line. An end time not after the start is bumped
 * to start + 1 ms so every cue is valid. Empty input gives an empty string.
 */
export function toSrt(segments: readonly SisSegment[]): string {
  return cueSegments(segments)
    .map((s, i) => {
      const end = Math.max(s.end_time, s.start_time + 1);
      return `${i + 1}\n${cueTime(s.start_time, ',')} --> ${cueTime(end, ',')}\n${cueText(s)}\n`;
    })
    .join('\n');
}
