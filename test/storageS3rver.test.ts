import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { ObsClient, StorageError, type StorageRequestEvent } from '@obsq/storage';
import { waitFor } from './helpers/waitFor.js';

// s3rver ships no types; only the part used here is declared.
interface S3rverInstance {
  run(): Promise<{ port: number; address: string }>;
  close(): Promise<void>;
}
type S3rverCtor = new (opts: Record<string, unknown>) => S3rverInstance;
const S3rver = createRequire(import.meta.url)('s3rver') as S3rverCtor;

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const md5b64 = (b: Buffer) => createHash('md5').update(b).digest('base64');
const tcpHandles = () => process.getActiveResourcesInfo().filter((r) => r === 'TCPSocketWrap' || r === 'TCPServerWrap').length;

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

describe('ObsClient (V2, path style) against s3rver 3.7.1', () => {
  let dir: string;
  let server: S3rverInstance;
  let client: ObsClient;
  let endpoint: string;
  let baselineTcp: number;
  const events: StorageRequestEvent[] = [];
  const bucket = 'obsq-s3rver';
  const parts = [256 * 1024, 256 * 1024, 100 * 1024 + 7];
  let file: string;
  let content: Buffer;

  beforeAll(async () => {
    baselineTcp = tcpHandles();
    dir = await mkdtemp(join(tmpdir(), 'obsq-s3rver-'));
    server = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory: join(dir, 'data'), resetOnClose: true });
    const { port } = await server.run();
    endpoint = `http://127.0.0.1:${port}`;
    client = new ObsClient({
      endpoint,
      signature: 'v2',
      credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
      keepAliveTimeoutMs: 10,
      onRequest: (e) => events.push(e),
    });
    content = randomBytes(parts.reduce((a, b) => a + b, 0));
    file = join(dir, 'source.bin');
    await writeFile(file, content);
  });

  afterAll(async () => {
    await client?.close();
    await server?.close();
    await rm(dir, { recursive: true, force: true });
    // Client pool and server are gone: no TCP handle of ours is left.
    await waitFor(() => tcpHandles() <= baselineTcp, { what: 'TCP handles back to baseline', timeoutMs: 5000 });
  });

  it('creates and heads the bucket', async () => {
    const created = await client.createBucket({ bucket });
    expect(created.status).toBe(200);
    const head = await client.headBucket({ bucket });
    expect(head.status).toBe(200);
    expect(head.errorCode).toBe('');
  });

  it('multipart: 3 parts from file ranges (concurrent, Content-MD5), complete, head and get, bytes verified', async () => {
    const key = 'dir/multi part+ü.bin';
    const init = await client.initiateMultipartUpload({ bucket, key, contentType: 'application/octet-stream', metadata: { origin: 'test' } });
    const uploadId = init.body!.uploadId;
    expect(uploadId).toMatch(/^[0-9a-f]+$/);
    expect(init.body).toMatchObject({ bucket, key });

    let offset = 0;
    const ranges = parts.map((length, i) => {
      const r = { partNumber: i + 1, start: offset, length };
      offset += length;
      return r;
    });
    const uploaded = await Promise.all(
      ranges.map(async (r) => {
        const res = await client.uploadPart({
          bucket, key, uploadId, partNumber: r.partNumber,
          body: { path: file, start: r.start, length: r.length },
          contentMd5: md5b64(content.subarray(r.start, r.start + r.length)),
        });
        const md5 = createHash('md5').update(content.subarray(r.start, r.start + r.length)).digest('hex');
        expect(res.body!.etag.replace(/"/g, '')).toBe(md5);
        return { partNumber: r.partNumber, etag: res.body!.etag };
      }),
    );

    // Given in reverse: the client sorts them ascending.
    const done = await client.completeMultipartUpload({ bucket, key, uploadId, parts: [...uploaded].reverse() });
    expect(done.status).toBe(200);
    expect(done.body).toMatchObject({ bucket, key });
    expect(done.body!.etag).not.toBe('');

    const head = await client.headObject({ bucket, key });
    expect(head.body).toMatchObject({ contentLength: content.length, contentType: 'application/octet-stream' });

    const got = await client.getObject({ bucket, key });
    expect(sha256(await readAll(got.body!.response))).toBe(sha256(content));

    const ranged = await client.getObject({ bucket, key, range: { start: 10, end: 1033 } });
    expect(ranged.status).toBe(206);
    expect((await readAll(ranged.body!.response)).equals(content.subarray(10, 1034))).toBe(true);
  });

  it('copies an object with replaced metadata and reads it back', async () => {
    const src = 'copy/src.bin';
    const bytes = randomBytes(70_000);
    const put = await client.putObject({ bucket, key: src, body: bytes, contentType: 'application/x-test', contentMd5: md5b64(bytes) });
    expect(put.body!.etag.replace(/"/g, '')).toBe(createHash('md5').update(bytes).digest('hex'));

    const copied = await client.copyObject({ bucket, key: 'copy/dst.bin', sourceBucket: bucket, sourceKey: src, metadata: { purpose: 'copy-test' } });
    expect(copied.status).toBe(200);
    expect(copied.body!.etag).not.toBe('');
    expect(copied.body!.lastModified).not.toBe('');

    const head = await client.headObject({ bucket, key: 'copy/dst.bin' });
    expect(head.body!.metadata).toMatchObject({ purpose: 'copy-test' });
    expect(head.body!.contentLength).toBe(bytes.length);
    const got = await client.getObject({ bucket, key: 'copy/dst.bin' });
    expect(sha256(await readAll(got.body!.response))).toBe(sha256(bytes));

    const listed = await client.listAllObjects({ bucket, prefix: 'copy/', pageSize: 1 });
    expect(listed.map((o) => o.key)).toEqual(['copy/dst.bin', 'copy/src.bin']);
  });

  it('missing object: HEAD 404 without body → NoSuchKey, one attempt (permanent)', async () => {
    const before = events.length;
    const err = await client.headObject({ bucket, key: 'nope' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StorageError);
    const se = err as StorageError;
    expect(se.result).toMatchObject({ status: 404, errorCode: 'NoSuchKey', body: null });
    expect(se.permanent).toBe(true);
    expect(se.attempts).toBe(1);
    expect(events.length - before).toBe(1);
  });

  it('a wrong secret gets 403 SignatureDoesNotMatch, not retried', async () => {
    const bad = new ObsClient({ endpoint, signature: 'v2', credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'wrong' }, keepAliveTimeoutMs: 10 });
    try {
      const err = (await bad.headBucket({ bucket }).catch((e: unknown) => e)) as StorageError;
      expect(err.result.status).toBe(403);
      expect(err.attempts).toBe(1);
      const err2 = (await bad.getObject({ bucket, key: 'copy/src.bin' }).catch((e: unknown) => e)) as StorageError;
      expect(err2.result).toMatchObject({ status: 403, errorCode: 'SignatureDoesNotMatch' });
    } finally {
      await bad.close();
    }
  });

  it('a V2 presigned URL is accepted by s3rver', async () => {
    const { signedUrl } = client.createSignedUrl({ method: 'GET', bucket, key: 'copy/src.bin', expires: 60 });
    expect(signedUrl).toContain('AWSAccessKeyId=S3RVER');
    const res = await request(signedUrl);
    expect(res.statusCode).toBe(200);
    expect((await res.body.arrayBuffer()).byteLength).toBe(70_000);
  });

  it('deletes what it made and reports every request', async () => {
    for (const o of await client.listAllObjects({ bucket })) {
      expect((await client.deleteObject({ bucket, key: o.key })).status).toBe(204);
    }
    expect((await client.deleteBucket({ bucket })).status).toBe(204);
    const names = new Set(events.map((e) => e.operation));
    expect(names).toContain('UploadPart');
    expect(names).toContain('CompleteMultipartUpload');
    expect(events.every((e) => e.durationMs >= 0 && e.attempt >= 1)).toBe(true);
  });
});
