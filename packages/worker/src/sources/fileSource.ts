import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, realpath, stat } from 'node:fs/promises';
import { isAbsolute, relative, sep } from 'node:path';
import { ObsqError } from '@obsq/shared';

/**
 * Resolves `path` (following symlinks) and checks it lies inside one of `roots`.
 * Refusals are permanent: retrying cannot make a forbidden or missing path readable.
 */
export async function resolveSourcePath(path: string, roots: readonly string[]): Promise<string> {
  if (roots.length === 0) {
    throw new ObsqError('OBSQ_SOURCE_FORBIDDEN', `source.path: file sources are disabled on this worker (set OBSQ_SOURCE_ROOTS)`, {
      permanent: true,
    });
  }
  if (!isAbsolute(path)) {
    throw new ObsqError('OBSQ_SOURCE_FORBIDDEN', `source.path: must be an absolute path (got ${JSON.stringify(path)})`, { permanent: true });
  }
  let real: string;
  try {
    real = await realpath(path);
  } catch (cause) {
    throw new ObsqError('OBSQ_SOURCE', `source.path: cannot open ${JSON.stringify(path)}: ${(cause as Error).message}`, {
      cause,
      permanent: true,
    });
  }
  for (const root of roots) {
    const realRoot = await realpath(root).catch(() => undefined);
    if (!realRoot) continue;
    const rel = relative(realRoot, real);
    if (rel === '' || (!rel.startsWith('..') && !isAbsolute(rel) && !rel.startsWith(`..${sep}`))) return real;
  }
  throw new ObsqError(
    'OBSQ_SOURCE_FORBIDDEN',
    `source.path: ${JSON.stringify(path)} resolves outside OBSQ_SOURCE_ROOTS (${roots.join(':')})`,
    { permanent: true },
  );
}

/** Checks the file still holds the byte range, so a truncated source fails clearly. */
export async function assertRangeReadable(path: string, offset: number, size: number): Promise<void> {
  const st = await stat(path);
  if (st.size < offset + size) {
    throw new ObsqError(
      'OBSQ_SOURCE_CHANGED',
      `source.path: file is ${st.size} bytes, shorter than part end ${offset + size}: the source changed after enqueue`,
      { permanent: true },
    );
  }
}

/** MD5 of a file byte range, streamed (never the whole range in memory). */
export async function md5OfFileRange(
  path: string,
  offset: number,
  size: number,
  signal: AbortSignal,
  onBytes?: (n: number) => void,
): Promise<Buffer> {
  const hash = createHash('md5');
  if (size === 0) return hash.digest();
  const stream = createReadStream(path, { start: offset, end: offset + size - 1, signal, highWaterMark: 1024 * 1024 });
  for await (const chunk of stream) {
    hash.update(chunk as Buffer);
    onBytes?.((chunk as Buffer).length);
  }
  return hash.digest();
}

/** Bytes per read (and per hash update) of {@link readFileRange}: keeps each synchronous MD5 step short. */
const READ_CHUNK = 1024 * 1024;

/**
 * Reads a file byte range into one buffer, hashing each chunk as it arrives: the range is read once
 * (not once for the MD5 and again for the PUT), and the MD5 is of the very bytes that are sent.
 * Holds the part in memory; the caller's concurrency bounds the total. `into` (exactly `size`
 * bytes) is filled instead of a new buffer.
 */
export async function readFileRange(
  path: string,
  offset: number,
  size: number,
  signal: AbortSignal,
  into: Buffer = Buffer.allocUnsafe(size),
): Promise<{ body: Buffer; md5: Buffer }> {
  if (into.length !== size) throw new RangeError(`readFileRange: into is ${into.length} bytes, the range ${size}`);
  const hash = createHash('md5');
  const body = into;
  const fh = await open(path, 'r');
  try {
    for (let filled = 0; filled < size; ) {
      signal.throwIfAborted();
      const { bytesRead } = await fh.read(body, filled, Math.min(READ_CHUNK, size - filled), offset + filled);
      if (bytesRead === 0) {
        throw new ObsqError('OBSQ_SOURCE_CHANGED', `source.path: file ended after ${offset + filled} bytes, before part end ${offset + size}: the source changed after enqueue`, {
          permanent: true,
        });
      }
      hash.update(body.subarray(filled, filled + bytesRead));
      filled += bytesRead;
    }
  } finally {
    await fh.close();
  }
  return { body, md5: hash.digest() };
}
