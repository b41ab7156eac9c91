import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
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
    // Outside means `..` or `../…` (or another drive); a name such as `..data` inside the root is fine.
    if (rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel)) return real;
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
