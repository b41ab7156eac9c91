import type { TranscriptionResult } from './transcriptionResult.js';

/** The whole result as pretty-printed JSON (SIS field names in `segments`), ending with a newline. */
export function toJson(result: TranscriptionResult): string {
  return `${JSON.stringify(result, null, 2)}\n`;
}
