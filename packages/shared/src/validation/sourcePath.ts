import { posix } from 'node:path';
import type { ValidationIssue } from '../errors/index.js';

/**
 * Checks a local source path stored in a job payload: absolute and already normalised (no `.`/`..`
 * segments, no `//`), so the worker's `OBSQ_SOURCE_ROOTS` check can compare prefixes safely.
 * @defaultValue field `'path'`
 */
export function sourcePathIssues(path: string, field = 'path'): ValidationIssue[] {
  if (path.includes('\0')) return [{ field, rule: 'must not contain a NUL byte' }];
  if (!posix.isAbsolute(path)) return [{ field, rule: `must be an absolute path (got ${JSON.stringify(path)})` }];
  const normal = posix.normalize(path);
  if (normal !== path) {
    return [{ field, rule: `must be normalised, without '.', '..' or empty segments (got ${JSON.stringify(path)}, meaning ${JSON.stringify(normal)})` }];
  }
  return [];
}
