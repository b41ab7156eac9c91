import type { SisSegment } from '../sis/index.js';

/**
 * Text of a segment for a subtitle cue or a transcript line: whitespace runs (including line
 * breaks, which would end an SRT/VTT cue early) collapsed to one space, trimmed. WebVTT also
 * forbids `-->` inside cue text, so it is written `->`.
 */
export function cueText(segment: SisSegment): string {
  return (segment.result?.text ?? '').replace(/\s+/g, ' ').replace(/-->/g, '->').trim();
}

/** Final segments that carry text, in time order (stable for equal start times). */
export function cueSegments(segments: readonly SisSegment[]): SisSegment[] {
  return segments
    .filter((s) => s.is_final && cueText(s) !== '')
    .map((s, i) => ({ s, i }))
    .sort((a, b) => a.s.start_time - b.s.start_time || a.i - b.i)
    .map(({ s }) => s);
}
