import type { z } from 'zod';
import type { filePinSchema } from './fields.js';

/** The version of a local file at enqueue: size, mtime, inode and device. */
export type FilePin = z.output<typeof filePinSchema>;

/** What {@link filePinOf} needs from `fs.Stats` taken with `{ bigint: true }`. */
export interface BigIntStatLike {
  size: bigint;
  mtimeNs: bigint;
  ino: bigint;
  dev: bigint;
}

/**
 * The pin of a file from a `{ bigint: true }` stat. Producer and worker both derive it here, so the
 * same file yields exactly the same numbers on both sides (inode and device as decimal text, since
 * 64-bit values do not survive JSON numbers).
 */
export function filePinOf(st: BigIntStatLike): FilePin {
  return { size: Number(st.size), mtimeMs: Number(st.mtimeNs) / 1e6, ino: st.ino.toString(), dev: st.dev.toString() };
}

/** Fields of `actual` that differ from `pin`, each as `name was X, now Y`; empty when unchanged. */
export function filePinDifferences(pin: FilePin, actual: FilePin): string[] {
  const out: string[] = [];
  if (pin.size !== actual.size) out.push(`size was ${pin.size}, now ${actual.size}`);
  if (pin.mtimeMs !== actual.mtimeMs) out.push(`mtime was ${pin.mtimeMs} ms, now ${actual.mtimeMs} ms`);
  if (pin.ino !== actual.ino || pin.dev !== actual.dev) out.push(`inode was ${pin.dev}:${pin.ino}, now ${actual.dev}:${actual.ino} (replaced)`);
  return out;
}
