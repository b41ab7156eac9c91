import type { SisSegment } from '../sis/index.js';
import { cueSegments, cueText } from './cueText.js';

/** Plain transcript: one final segment per line, in time order, ending with a newline (empty input: ''). */
export function toTxt(segments: readonly SisSegment[]): string {
  const lines = cueSegments(segments).map(cueText);
  return lines.length === 0 ? '' : `${lines.join('\n')}\n`;
}
