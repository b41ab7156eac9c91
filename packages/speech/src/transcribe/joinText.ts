import type { SisSegment } from '../sis/index.js';
import { cueSegments, cueText } from './cueText.js';

/** The transcript as one line: final segments' texts in time order, joined with single spaces. */
export function joinText(segments: readonly SisSegment[]): string {
  return cueSegments(segments).map(cueText).join(' ');
}
