import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileRange } from './fileSource.js';

let dir: string;
let path: string;
const bytes = randomBytes(3 * 1024 * 1024 + 17);

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'obsq-read-range-'));
  path = join(dir, 'source.bin');
  await writeFile(path, bytes);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('readFileRange: one read of a part, hashed as it is read (issue 12)', () => {
  it('returns exactly the range and the MD5 of those bytes, across several read chunks', async () => {
    const offset = 1000;
    const size = 2 * 1024 * 1024 + 5;
    const { body, md5 } = await readFileRange(path, offset, size, new AbortController().signal);
    expect(body.equals(bytes.subarray(offset, offset + size))).toBe(true);
    expect(md5.equals(createHash('md5').update(bytes.subarray(offset, offset + size)).digest())).toBe(true);
  });

  it('an empty range is an empty body with the MD5 of nothing', async () => {
    const { body, md5 } = await readFileRange(path, 0, 0, new AbortController().signal);
    expect(body.length).toBe(0);
    expect(md5.toString('hex')).toBe('d41d8cd98f00b204e9800998ecf8427e');
  });

  it('a file that ends before the part does fails permanently with OBSQ_SOURCE_CHANGED', async () => {
    const err = (await readFileRange(path, bytes.length - 10, 20, new AbortController().signal).catch((e: unknown) => e)) as {
      code?: string;
      permanent?: boolean;
      message: string;
    };
    expect(err.code).toBe('OBSQ_SOURCE_CHANGED');
    expect(err.permanent).toBe(true);
    expect(err.message).toMatch(/source\.path: file ended after/);
  });

  it('an aborted signal stops the read', async () => {
    const ac = new AbortController();
    ac.abort(new Error('shutdown'));
    await expect(readFileRange(path, 0, 1024, ac.signal)).rejects.toThrow('shutdown');
  });
});
