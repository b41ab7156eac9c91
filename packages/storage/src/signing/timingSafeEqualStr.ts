import { createHash, timingSafeEqual } from 'node:crypto';

/**
 * Constant-time string comparison for signatures. Both sides are hashed first (UTF-8), so the time
 * taken does not reveal the length of the expected value either; equal SHA-256 digests mean equal
 * strings.
 */
export function timingSafeEqualStr(a: string, b: string): boolean {
  return timingSafeEqual(createHash('sha256').update(a).digest(), createHash('sha256').update(b).digest());
}
