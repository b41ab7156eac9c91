import { spawn } from 'node:child_process';
import { link, mkdir, mkdtemp, open, rename, rm, stat, symlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { filePinOf, type FileSource } from '@obsq/shared';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readFilePart } from './fileSource.js';
import { openPinnedFile } from './pinnedFile.js';

let base: string;
let root: string;
let outside: string;

beforeEach(async () => {
  base = await mkdtemp(join(tmpdir(), 'obsq-pinned-'));
  root = join(base, 'root');
  outside = join(base, 'outside');
  await mkdir(root);
  await mkdir(outside);
});
afterEach(async () => {
  await rm(base, { recursive: true, force: true });
});

async function sourceOf(path: string): Promise<FileSource> {
  return { kind: 'file', path, pin: filePinOf(await stat(path, { bigint: true })) };
}

async function failure(p: Promise<unknown>): Promise<{ code?: string; message: string; permanent?: boolean }> {
  return p.then(
    () => {
      throw new Error('expected a rejection');
    },
    (e: unknown) => e as { code?: string; message: string; permanent?: boolean },
  );
}

describe('openPinnedFile', () => {
  it('reads a file inside a root through its descriptor, including a name starting with ".."', async () => {
    const path = join(root, '..foo');
    await writeFile(path, 'hello world');
    await using file = await openPinnedFile([root], await sourceOf(path));
    expect((await file.readRange(6, 5)).toString()).toBe('world');
    expect(file.realPath).toBe(path);
  });

  it('refuses a symlink leading outside every root, and a path whose directory is such a symlink', async () => {
    await writeFile(join(outside, 'secret'), 'secret');
    await symlink(join(outside, 'secret'), join(root, 'link'));
    await symlink(outside, join(root, 'dir'));
    for (const p of [join(root, 'link'), join(root, 'dir', 'secret')]) {
      const err = await failure(openPinnedFile([root], await sourceOf(p)));
      expect(err.code).toBe('OBSQ_SOURCE_FORBIDDEN');
      expect(err.message).toMatch(/outside OBSQ_SOURCE_ROOTS/);
      expect(err.permanent).toBe(true);
    }
  });

  it('refuses a hard link by default and reads it with hardlinks "allow"', async () => {
    await writeFile(join(outside, 'secret'), 'secret');
    await link(join(outside, 'secret'), join(root, 'hard'));
    const src = await sourceOf(join(root, 'hard'));
    const err = await failure(openPinnedFile([root], src));
    expect(err.code).toBe('OBSQ_SOURCE_FORBIDDEN');
    expect(err.message).toMatch(/2 hard links.*OBSQ_SOURCE_HARDLINKS=allow/);
    await using file = await openPinnedFile([root], src, { hardlinks: 'allow' });
    expect((await file.readRange(0, 6)).toString()).toBe('secret');
  });

  it('refuses no roots, relative paths, directories and missing files with their own codes', async () => {
    const path = join(root, 'f');
    await writeFile(path, 'x');
    const src = await sourceOf(path);
    expect((await failure(openPinnedFile([], src))).message).toMatch(/OBSQ_SOURCE_ROOTS/);
    expect((await failure(openPinnedFile([root], { ...src, path: 'f' }))).code).toBe('OBSQ_SOURCE_FORBIDDEN');
    expect((await failure(openPinnedFile([root], { ...src, path: root }))).message).toMatch(/not a regular file/);
    expect((await failure(openPinnedFile([root], { ...src, path: join(root, 'nope') }))).code).toBe('OBSQ_SOURCE');
  });

  it('fails with OBSQ_SOURCE_CHANGED when size, mtime or inode differ from the pin', async () => {
    const path = join(root, 'f');
    await writeFile(path, 'abcdef');
    const src = await sourceOf(path);
    await utimes(path, new Date(), new Date(Date.now() + 5000));
    const err = await failure(openPinnedFile([root], src));
    expect(err.code).toBe('OBSQ_SOURCE_CHANGED');
    expect(err.message).toMatch(/mtime was/);
    // Replaced by rename: the new inode exists before the old one is freed, so the numbers differ.
    await writeFile(`${path}.new`, 'abcdef');
    await rename(`${path}.new`, path);
    expect((await failure(openPinnedFile([root], { ...src, pin: { ...src.pin, mtimeMs: (await sourceOf(path)).pin.mtimeMs } }))).message).toMatch(
      /inode was .* \(replaced\)/,
    );
  });

  it('an in-place edit after opening fails the next read instead of returning mixed bytes', async () => {
    const path = join(root, 'f');
    await writeFile(path, Buffer.alloc(4096, 'a'));
    await using file = await openPinnedFile([root], await sourceOf(path));
    expect((await file.readRange(0, 1024)).every((b) => b === 0x61)).toBe(true);
    const fh = await open(path, 'r+');
    await fh.write(Buffer.alloc(10, 'b'), 0, 10, 2000);
    await fh.close();
    await utimes(path, new Date(), new Date(Date.now() + 1000)); // coarse clocks: make the edit visible for sure
    const err = await failure(file.readRange(1024, 2048));
    expect(err.code).toBe('OBSQ_SOURCE_CHANGED');
    expect(err.message).toMatch(/before reading bytes 1024-3071/);
  });

  it('large parts are hashed and streamed through the same descriptor', async () => {
    const path = join(root, 'big');
    const data = Buffer.alloc(70 * 1024 * 1024);
    for (let i = 0; i < data.length; i += 4096) data[i] = i % 251;
    await writeFile(path, data);
    await using file = await openPinnedFile([root], await sourceOf(path));
    const part = await readFilePart(file, 1, data.length - 1, AbortSignal.timeout(30_000));
    expect(part.inMemory).toBe(false);
    const chunks: Buffer[] = [];
    for await (const c of (part.body as { open(): AsyncIterable<Buffer> }).open()) chunks.push(c);
    expect(Buffer.concat(chunks).equals(data.subarray(1))).toBe(true);
    await file.verify('after');
  });

  it('never reads outside bytes while a directory inside the root is swapped with a symlink to outside', async () => {
    // Two names swapped in a tight loop by another process: root/d is alternately the real directory
    // and a symlink to outside/. Both hold file.bin of the same size.
    const size = 4096;
    await mkdir(join(root, 'real'));
    await writeFile(join(root, 'real', 'file.bin'), Buffer.alloc(size, 'I'));
    await writeFile(join(outside, 'file.bin'), Buffer.alloc(size, 'O'));
    await symlink(outside, join(root, 'evil'));
    await rename(join(root, 'real'), join(root, 'd'));
    const script = `
      const { renameSync } = require('node:fs');
      const [d, real, evil] = process.argv.slice(1);
      process.stdout.write('swapping\\n');
      for (;;) { renameSync(d, real); renameSync(evil, d); renameSync(d, evil); renameSync(real, d); }`;
    const swapper = spawn(process.execPath, ['-e', script, join(root, 'd'), join(root, 'real'), join(root, 'evil')], { stdio: ['ignore', 'pipe', 'ignore'] });
    await new Promise((r) => swapper.stdout.once('data', r));
    const counts = { inside: 0, refused: 0, outsideBytes: 0 };
    try {
      // Until both outcomes were seen often enough to show the race is real (bounded).
      for (let i = 0; i < 20_000 && (counts.inside < 50 || counts.refused < 50); i++) {
        const path = join(root, 'd', 'file.bin');
        // The pin is taken through the same racing path: sometimes it is the outside file's.
        const src = await sourceOf(path).catch(() => undefined);
        if (!src) continue;
        try {
          await using file = await openPinnedFile([root], src);
          const bytes = await file.readRange(0, size);
          counts.outsideBytes += bytes.filter((b) => b === 0x4f).length;
          counts.inside++;
        } catch (err) {
          expect(['OBSQ_SOURCE_FORBIDDEN', 'OBSQ_SOURCE', 'OBSQ_SOURCE_CHANGED']).toContain((err as { code?: string }).code);
          counts.refused++;
        }
      }
    } finally {
      const exited = new Promise((r) => swapper.once('exit', r));
      swapper.kill('SIGKILL');
      await exited;
    }
    expect(counts.outsideBytes).toBe(0);
    expect(counts.inside).toBeGreaterThan(0);
    expect(counts.refused).toBeGreaterThan(0);
  });
});
