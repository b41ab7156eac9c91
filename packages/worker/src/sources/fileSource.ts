import { createHash } from 'node:crypto';
import type { StreamFactory } from '@obsq/storage';
import type { PinnedFile } from './pinnedFile.js';

/**
 * Largest part held in memory whole, in bytes. Up to this size a part is read once into a buffer,
 * and that very buffer is hashed and sent. Larger parts (possible up to 5 GiB) are hashed in one pass
 * and streamed in a second, both through the same descriptor; the server's Content-MD5 check then
 * binds the sent bytes to the hash, and the pin is checked again after sending.
 */
export const IN_MEMORY_PART_MAX = 64 * 1024 * 1024;

/** The bytes of one part of a pinned file, ready to send, and their MD5. */
export interface FilePartBody {
  body: Buffer | StreamFactory;
  md5: Buffer;
  /** True when `body` is the buffer the MD5 was computed from. */
  inMemory: boolean;
}

/**
 * Reads part `[offset, offset + size)` of a pinned file for sending; see {@link IN_MEMORY_PART_MAX}.
 * `into` (exactly `size` bytes, e.g. from a {@link PartBufferPool}) is filled instead of a new buffer.
 * @throws ObsqError `OBSQ_SOURCE_CHANGED` when the file no longer matches its pin
 */
export async function readFilePart(
  file: PinnedFile,
  offset: number,
  size: number,
  signal: AbortSignal,
  onBytes?: (n: number) => void,
  into?: Buffer,
): Promise<FilePartBody> {
  if (size <= IN_MEMORY_PART_MAX) {
    const buf = await file.readRange(offset, size, signal, onBytes, into);
    return { body: buf, md5: createHash('md5').update(buf).digest(), inMemory: true };
  }
  const hash = createHash('md5');
  const chunk = IN_MEMORY_PART_MAX;
  for (let at = offset; at < offset + size; at += chunk) {
    hash.update(await file.readRange(at, Math.min(chunk, offset + size - at), signal, onBytes));
  }
  return { body: file.rangeStream(offset, size), md5: hash.digest(), inMemory: false };
}
