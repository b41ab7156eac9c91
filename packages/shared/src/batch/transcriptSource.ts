import type { TranscribeAudioFilePayload } from '../catalog/jobCatalog.js';

/**
 * User metadata name under which each transcript object records the version of the audio it was
 * made from, so a transcription batch run again skips audio whose transcript is current.
 */
export const TRANSCRIPT_SOURCE_METADATA = 'obsq-source-version';

/**
 * The version of an audio source as transcripts record it: an object's ETag, a file's pin (size,
 * mtime, inode), a URL's validator. Two equal values mean the same bytes (as far as the source can
 * tell); `''` when the source gives nothing to compare.
 */
export function sourceVersionOf(audio: TranscribeAudioFilePayload['audio']): string {
  switch (audio.kind) {
    case 'object':
      return audio.etag ? `etag:${audio.etag.replace(/"/g, '')}` : '';
    case 'file':
      return `file:${audio.pin.size}:${audio.pin.mtimeMs}:${audio.pin.ino}`;
    case 'url':
      return audio.etag ? `etag:${audio.etag.replace(/"/g, '')}` : audio.lastModified ? `lm:${audio.lastModified}` : '';
  }
}
