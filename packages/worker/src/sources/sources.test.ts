import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { mkdir, mkdtemp, realpath, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sourcePathIssues, UrlClient, urlPolicyFrom } from '@obsq/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchUrlRange } from './urlSource.js';

// The source sandbox: what a job may read (OBSQ_SOURCE_ROOTS), and how a part's bytes are read
// from a file or a URL without mixing versions of a source that changed.

let base: string;
let root: string;
const data = randomBytes(10_000);
const md5 = (b: Buffer) => createHash('md5').update(b).digest();

beforeAll(async () => {
  base = await realpath(await mkdtemp(join(tmpdir(), 'obsq-sources-')));
  root = join(base, 'root');
  await mkdir(join(root, 'sub'), { recursive: true });
  await mkdir(join(base, 'root2'));
  await writeFile(join(root, 'sub', 'a.bin'), data);
  await writeFile(join(root, '..data'), 'inside');
  await writeFile(join(base, 'root2', 'b.bin'), 'outside, shares the prefix');
  await writeFile(join(base, 'secret.txt'), 'outside');
  await symlink(join(base, 'secret.txt'), join(root, 'escape'));
  await symlink(join(root, 'sub', 'a.bin'), join(root, 'alias'));
  await symlink(root, join(base, 'root-link'));
});

afterAll(async () => {
  await rm(base, { recursive: true, force: true });
});

const failure = (p: Promise<unknown>) => p.then(() => undefined, (e: unknown) => e as { code: string; permanent: boolean; message: string });

describe('sourcePathIssues', () => {
  it.each([
    ['/data/in/a.bin', []],
    ['/', []],
    ['relative/a.bin', [{ field: 'path', rule: 'must be an absolute path (got "relative/a.bin")' }]],
    ['/data/\0x', [{ field: 'path', rule: 'must not contain a NUL byte' }]],
    ['/data/../etc/passwd', [{ field: 'path', rule: `must be normalised, without '.', '..' or empty segments (got "/data/../etc/passwd", meaning "/etc/passwd")` }]],
    ['/data//a', [{ field: 'path', rule: `must be normalised, without '.', '..' or empty segments (got "/data//a", meaning "/data/a")` }]],
    ['/data/./a', [{ field: 'path', rule: `must be normalised, without '.', '..' or empty segments (got "/data/./a", meaning "/data/a")` }]],
  ])('%j → %j', (path, issues) => {
    expect(sourcePathIssues(path)).toEqual(issues);
  });

  it('names the field it was given', () => {
    expect(sourcePathIssues('x', 'source.path')).toEqual([{ field: 'source.path', rule: 'must be an absolute path (got "x")' }]);
  });
});

// The sandbox itself (open once, verify the descriptor, pin) is tested in pinnedFile.test.ts.

describe('fetchUrlRange', () => {
  // Loopback only when listed, as the worker's policy says.
  const urls = new UrlClient(urlPolicyFrom({ allow: '127.0.0.1' }).policy);
  let server: Server;
  let url: string;
  let handler: (req: IncomingMessage, res: ServerResponse) => void;
  const seen: IncomingMessage[] = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      seen.push(req);
      handler(req, res);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as { port: number }).port}/src`;
  });
  afterAll(async () => {
    await urls.close();
    await new Promise((r) => server.close(r));
  });

  const ranged = (etag = '"v1"') => (req: IncomingMessage, res: ServerResponse) => {
    const m = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? '')!;
    const start = Number(m[1]);
    const end = Number(m[2]);
    res.writeHead(206, { etag, 'last-modified': 'Tue, 01 Jul 2025 00:00:00 GMT', 'content-range': `bytes ${start}-${end}/${data.length}`, 'content-length': end - start + 1 });
    res.end(data.subarray(start, end + 1));
  };

  it('asks for the range with If-Range (ETag, else Last-Modified) and returns its bytes and MD5', async () => {
    handler = ranged();
    let progress = 0;
    const got = await fetchUrlRange(urls, { url, size: data.length, etag: '"v1"', lastModified: 'Tue, 01 Jul 2025 00:00:00 GMT' }, 100, 900, new AbortController().signal, (n) => (progress += n));
    expect(got.body.equals(data.subarray(100, 1_000))).toBe(true);
    expect(got.md5.equals(md5(data.subarray(100, 1_000)))).toBe(true);
    expect(progress).toBe(900);
    expect(seen.at(-1)!.headers).toMatchObject({ range: 'bytes=100-999', 'if-range': '"v1"' });

    await fetchUrlRange(urls, { url, size: data.length, lastModified: 'Tue, 01 Jul 2025 00:00:00 GMT' }, 0, 10, new AbortController().signal);
    expect(seen.at(-1)!.headers['if-range']).toBe('Tue, 01 Jul 2025 00:00:00 GMT');
    await fetchUrlRange(urls, { url, size: data.length }, 0, 10, new AbortController().signal);
    expect(seen.at(-1)!.headers['if-range']).toBeUndefined();
  });

  it('an empty range sends no request', async () => {
    const before = seen.length;
    const got = await fetchUrlRange(urls, { url, size: data.length }, 0, 0, new AbortController().signal);
    expect(got.body.length).toBe(0);
    expect(got.md5.equals(md5(Buffer.alloc(0)))).toBe(true);
    expect(seen.length).toBe(before);
  });

  it('a source that changed (200 instead of 206, 412, another size, a longer answer) fails permanently', async () => {
    const src = { url, size: data.length, etag: '"v1"' };
    handler = (_req, res) => {
      res.writeHead(200, { etag: '"v2"', 'content-length': data.length });
      res.end(data);
    };
    expect(await failure(fetchUrlRange(urls, src, 0, 10, new AbortController().signal))).toMatchObject({
      code: 'OBSQ_SOURCE_CHANGED',
      permanent: true,
      message: 'source.url: the source changed since enqueue (validator "v1" no longer matches)',
    });
    handler = (_req, res) => res.writeHead(412).end();
    expect(await failure(fetchUrlRange(urls, { url, size: data.length }, 0, 10, new AbortController().signal))).toMatchObject({
      code: 'OBSQ_SOURCE_CHANGED',
      permanent: true,
      message: 'source.url: the source changed since enqueue (validator none no longer matches)',
    });
    handler = ranged();
    expect(await failure(fetchUrlRange(urls, { url, size: data.length + 1 }, 0, 10, new AbortController().signal))).toMatchObject({
      code: 'OBSQ_SOURCE_CHANGED',
      permanent: true,
      message: `source.url: size is now ${data.length} bytes, was ${data.length + 1} at enqueue`,
    });
    handler = (_req, res) => {
      res.writeHead(206, { 'content-range': `bytes 0-9/${data.length}` });
      res.end(data.subarray(0, 20));
    };
    expect(await failure(fetchUrlRange(urls, { url, size: data.length }, 0, 10, new AbortController().signal))).toMatchObject({
      code: 'OBSQ_SOURCE_CHANGED',
      permanent: true,
      message: 'source.url: range answer is longer than 10 bytes',
    });
  });

  it('a short answer or no answer is a transient network error', async () => {
    handler = (_req, res) => {
      res.writeHead(206, { 'content-range': `bytes 0-9/${data.length}` });
      res.end(data.subarray(0, 4));
    };
    expect(await failure(fetchUrlRange(urls, { url, size: data.length }, 0, 10, new AbortController().signal))).toMatchObject({
      code: 'OBSQ_NETWORK',
      permanent: false,
      message: 'source.url: range answer ended after 4 of 10 bytes',
    });
    handler = (_req, res) => {
      res.writeHead(206, { 'content-range': 'bytes 0-9/*' });
      res.end(data.subarray(0, 10));
    };
    expect((await fetchUrlRange(urls, { url, size: 5 }, 0, 10, new AbortController().signal)).body.equals(data.subarray(0, 10))).toBe(true);
    // No Content-Range at all: nothing to compare the size with.
    handler = (_req, res) => {
      res.writeHead(206);
      res.end(data.subarray(0, 10));
    };
    expect((await fetchUrlRange(urls, { url, size: data.length }, 0, 10, new AbortController().signal)).body.equals(data.subarray(0, 10))).toBe(true);
    expect(seen.at(-1)!.method).toBe('GET');
    const err = await failure(fetchUrlRange(urls, { url: 'http://127.0.0.1:9/x', size: 10 }, 0, 10, new AbortController().signal));
    expect(err).toMatchObject({ code: 'OBSQ_NETWORK', permanent: false });
    expect((err as unknown as { cause?: { code?: string } }).cause?.code).toBe('ECONNREFUSED');
    expect(err!.message).toMatch(/^source\.url: request to 127\.0\.0\.1:\d+ failed: /);
  });

  it.each([
    [404, true],
    [403, true],
    [400, true],
    [499, true],
    [408, false],
    [429, false],
    [500, false],
    [503, false],
    [301, false],
  ])('HTTP %i → OBSQ_SOURCE, permanent %s', async (status, permanent) => {
    handler = (_req, res) => res.writeHead(status).end('nope');
    expect(await failure(fetchUrlRange(urls, { url, size: data.length }, 0, 10, new AbortController().signal))).toEqual(
      expect.objectContaining({ code: 'OBSQ_SOURCE', permanent, message: `source.url: GET range answered HTTP ${status}` }),
    );
  });
});
