import type { FileHandle } from 'node:fs/promises';
import { ObsqError, coerceError } from '@obsq/shared';

/** Options of {@link AudioRange.chunks}. */
export interface AudioChunksOptions {
  /** Stops reading; the iteration then throws `OBSQ_ABORTED`. */
  signal?: AbortSignal;
}

/**
 * Headerless sample bytes, held in memory or read from a file on demand. A file-backed range
 * reads sequentially in chunks of a fixed size, so iterating it holds one chunk at a time
 * whatever its length.
 */
export interface AudioRange {
  /** Bytes in the range. */
  readonly byteLength: number;
  /**
   * The bytes in order, in chunks of at most the range's read size (in memory: one chunk, no
   * copy). Breaking out of the iteration stops reading.
   * @throws ObsqError `OBSQ_AUDIO` (permanent) when the file cannot be read or ends early,
   *   `OBSQ_ABORTED`.
   */
  chunks(options?: AudioChunksOptions): AsyncIterable<Buffer>;
  /** The bytes `[start, end)` of this range (clamped to it), without reading or copying anything. */
  slice(start: number, end?: number): AudioRange;
}

/** Default read size of a file-backed range: 64 KiB, i.e. 2 s of 16 kHz 16-bit audio. */
export const AUDIO_READ_BYTES = 64 * 1024;

function clamp(byteLength: number, start: number, end: number | undefined): [number, number] {
  const s = Math.min(byteLength, Math.max(0, Math.floor(start)));
  const e = Math.min(byteLength, Math.max(s, Math.floor(end ?? byteLength)));
  return [s, e];
}

function aborted(signal: AbortSignal): ObsqError {
  return new ObsqError('OBSQ_ABORTED', 'reading audio aborted', { cause: signal.reason });
}

/** An {@link AudioRange} over `buf`. */
export function bufferAudioRange(buf: Buffer): AudioRange {
  return {
    byteLength: buf.length,
    async *chunks(options: AudioChunksOptions = {}) {
      if (options.signal?.aborted) throw aborted(options.signal);
      if (buf.length > 0) yield buf;
    },
    slice(start, end) {
      const [s, e] = clamp(buf.length, start, end);
      return bufferAudioRange(buf.subarray(s, e));
    },
  };
}

/** Where a file-backed {@link AudioRange} lies. */
export interface FileAudioRangeOptions {
  /** The open file; the range never closes it. */
  file: FileHandle;
  /** Path of the file, for error messages. */
  path: string;
  /** Byte offset of the range in the file. */
  offset: number;
  /** Bytes in the range. */
  byteLength: number;
  /**
   * Bytes per positional read, i.e. the most a reader holds at a time.
   * @defaultValue {@link AUDIO_READ_BYTES} (64 KiB)
   */
  readBytes?: number;
}

/**
 * An {@link AudioRange} over `byteLength` bytes of an open file from `offset`, read with positional
 * reads of `readBytes`. Each chunk is a fresh buffer, so a consumer may keep a view of it after
 * asking for the next one.
 */
export function fileAudioRange(options: FileAudioRangeOptions): AudioRange {
  const { file, path, offset, byteLength } = options;
  const readBytes = options.readBytes ?? AUDIO_READ_BYTES;
  if (!(Number.isInteger(readBytes) && readBytes > 0)) throw new TypeError('readBytes must be a positive integer (bytes)');
  return {
    byteLength,
    async *chunks(opts: AudioChunksOptions = {}) {
      let pos = 0;
      while (pos < byteLength) {
        if (opts.signal?.aborted) throw aborted(opts.signal);
        const want = Math.min(readBytes, byteLength - pos);
        const buf = Buffer.allocUnsafe(want);
        let got = 0;
        while (got < want) {
          let bytesRead: number;
          try {
            ({ bytesRead } = await file.read(buf, got, want - got, offset + pos + got));
          } catch (err) {
            const e = coerceError(err);
            throw new ObsqError('OBSQ_AUDIO', `cannot read audio file ${path}: ${e.message}`, { permanent: true, cause: e });
          }
          if (bytesRead === 0) {
            throw new ObsqError('OBSQ_AUDIO', `audio file ${path} ended at byte ${offset + pos + got}, expected ${offset + byteLength}`, {
              permanent: true,
            });
          }
          got += bytesRead;
        }
        pos += want;
        yield buf;
      }
    },
    slice(start, end) {
      const [s, e] = clamp(byteLength, start, end);
      return fileAudioRange({ file, path, offset: offset + s, byteLength: e - s, readBytes });
    },
  };
}
