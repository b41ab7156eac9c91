import { S3Error } from '../errors/index.js';
import type { ByteRange } from '../storage/index.js';

/**
 * Parses a GET `Range` header against an object of `size` bytes (RFC 9110 §14.1.2):
 * `bytes=a-b`, `bytes=a-` and suffix `bytes=-n`. Returns undefined to serve the whole object
 * (no header, a syntax we ignore, or several ranges: S3 answers those with 200); throws
 * `InvalidRange` (416) when the range is unsatisfiable.
 */
export function parseRange(header: string | undefined, size: number): ByteRange | undefined {
  if (header === undefined) return undefined;
  const m = /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/i.exec(header);
  if (!m) return undefined;
  const [, first = '', last = ''] = m;
  if (first === '' && last === '') return undefined;
  if (first === '') {
    const suffix = Number(last);
    if (suffix === 0 || size === 0) throw unsatisfiable(size);
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(first);
  if (last !== '' && Number(last) < start) return undefined; // invalid syntax: ignore the header
  if (start >= size) throw unsatisfiable(size);
  return { start, end: last === '' ? size - 1 : Math.min(Number(last), size - 1) };
}

/**
 * Parses `x-obs-copy-source-range` / `x-amz-copy-source-range`: strictly `bytes=first-last`,
 * inclusive, inside the source. Throws `InvalidArgument` for bad syntax, `InvalidRange` when the
 * range reaches past the source.
 */
export function parseCopySourceRange(header: string, size: number): ByteRange {
  const m = /^bytes=(\d+)-(\d+)$/.exec(header.trim());
  if (!m) {
    throw new S3Error(
      'InvalidArgument',
      'The copy source range value must be of the form bytes=first-last where first and last are the zero-based offsets of the first and last bytes to copy',
    );
  }
  const start = Number(m[1]);
  const end = Number(m[2]);
  if (end < start) throw new S3Error('InvalidArgument', 'The copy source range must have first <= last.');
  if (end >= size) throw unsatisfiable(size);
  return { start, end };
}

function unsatisfiable(size: number): S3Error {
  return new S3Error('InvalidRange', undefined, { extra: { ActualObjectSize: String(size) } });
}
