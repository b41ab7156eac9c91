import { createHash, timingSafeEqual } from 'node:crypto';

/**
 * Constant-time string comparison for signatures. Both sides are hashed first, so the time taken
 * does not reveal the length of the expected value either.
 */
export function timingSafeEqualStr(a: string, b: string): boolean {
  const ha = createHash('sha256').update(a, 'utf8').digest();
  const hb = createHash('sha256').update(b, 'utf8').digest();
  return timingSafeEqual(ha, hb) && a.length === b.length;
}
