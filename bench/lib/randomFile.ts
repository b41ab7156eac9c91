import { randomBytes } from 'node:crypto';
import { open } from 'node:fs/promises';

const CHUNK = 4 * 1024 * 1024;

/** Writes `bytes` random bytes to `path` (4 MiB at a time), so no two parts are alike. */
export async function writeRandomFile(path: string, bytes: number): Promise<void> {
  const fh = await open(path, 'w');
  try {
    for (let left = bytes; left > 0; left -= CHUNK) await fh.write(randomBytes(Math.min(CHUNK, left)));
  } finally {
    await fh.close();
  }
}
