import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startDevstack, type Devstack } from '@obsq/devstack';
import { waitFor } from './helpers/waitFor.js';
import { ObsClient, StorageError, type ObsClientOptions, type SignatureMode, type StorageRequestEvent } from '@obsq/storage';

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const md5hex = (b: Buffer) => createHash('md5').update(b).digest('hex');
// File-range bodies are streamed: the caller passes their Content-MD5 (devstack requires it here).
const md5b64 = (b: Buffer) => createHash('md5').update(b).digest('base64');

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

const tcpHandles = () => process.getActiveResourcesInfo().filter((r) => r === 'TCPSocketWrap' || r === 'TCPServerWrap').length;

const PART = 100 * 1024; // OBS minimum part size, which devstack enforces at Complete

describe('ObsClient against devstack', () => {
  let ds: Devstack;
  let dir: string;
  let file: string;
  let content: Buffer;
  const clients: ObsClient[] = [];
  let events: StorageRequestEvent[] = [];
  let baselineTcp = 0;

  const make = (signature: SignatureMode, pathStyle: boolean, opts: Partial<ObsClientOptions> = {}): ObsClient => {
    const c = new ObsClient({
      endpoint: pathStyle ? ds.obs.endpoint : ds.obs.virtualHostedEndpoint,
      signature,
      pathStyle,
      region: ds.obs.region,
      credentials: { accessKeyId: ds.obs.accessKeyId, secretAccessKey: ds.obs.secretAccessKey },
      keepAliveTimeoutMs: 10,
      retryBackoff: { baseMs: 1, maxMs: 10, jitter: 'full' },
      onRequest: (e) => events.push(e),
      ...opts,
    });
    clients.push(c);
    return c;
  };

  beforeAll(async () => {
    baselineTcp = tcpHandles();
    ds = await startDevstack({ buckets: ['faults'], requireContentMd5: true });
    dir = await mkdtemp(join(tmpdir(), 'obsq-devstack-client-'));
    content = randomBytes(2 * PART + 12_345);
    file = join(dir, 'source.bin');
    await writeFile(file, content);
  });

  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
    ds.setFaults([]);
    events = [];
  });

  afterAll(async () => {
    await ds?.close();
    await rm(dir, { recursive: true, force: true });
    // Client pools and the server are closed: no TCP handle of ours is left.
    await waitFor(() => tcpHandles() <= baselineTcp, { what: 'TCP handles back to baseline', timeoutMs: 5000 });
  });

  const modes: Array<[SignatureMode, boolean]> = [
    ['obs', false],
    ['v2', false],
    ['v2', true],
    ['v4', false],
    ['v4', true],
  ];

  describe.each(modes)('signature %s, pathStyle %s', (signature, pathStyle) => {
    const bucket = `b-${signature}-${pathStyle ? 'path' : 'vhost'}`;

    it('bucket, multipart (file ranges + part copy), list, complete, head, get, copy, abort, delete', async () => {
      const c = make(signature, pathStyle);
      expect((await c.createBucket({ bucket })).status).toBe(200);
      expect((await c.headBucket({ bucket })).status).toBe(200);

      // A source object for UploadPartCopy.
      const src = randomBytes(PART + 1);
      await c.putObject({ bucket, key: 'src/obj 1.bin', body: src, contentType: 'application/x-src' });

      const key = 'out/multi part+ü.bin';
      const uploadId = (await c.initiateMultipartUpload({ bucket, key, contentType: 'application/octet-stream', metadata: { job: 't1' } })).body!.uploadId;
      const p1 = await c.uploadPart({ bucket, key, uploadId, partNumber: 1, body: { path: file, start: 0, length: PART }, contentMd5: md5b64(content.subarray(0, PART)) });
      expect(p1.body!.etag.replace(/"/g, '')).toBe(md5hex(content.subarray(0, PART)));
      const p2 = await c.uploadPartCopy({ bucket, key, uploadId, partNumber: 2, sourceBucket: bucket, sourceKey: 'src/obj 1.bin', range: { start: 0, end: PART - 1 } });
      expect(p2.body!.etag.replace(/"/g, '')).toBe(md5hex(src.subarray(0, PART)));
      const rest = content.subarray(PART);
      const p3 = await c.uploadPart({ bucket, key, uploadId, partNumber: 3, body: { path: file, start: PART, length: rest.length }, contentMd5: md5b64(rest) });

      const listed = await c.listAllParts({ bucket, key, uploadId });
      expect(listed.map((p) => [p.partNumber, p.size])).toEqual([[1, PART], [2, PART], [3, rest.length]]);

      const done = await c.completeMultipartUpload({
        bucket, key, uploadId,
        parts: [{ partNumber: 3, etag: p3.body!.etag }, { partNumber: 1, etag: p1.body!.etag }, { partNumber: 2, etag: p2.body!.etag }],
      });
      expect(done.body!.etag).toMatch(/-3"?$/);

      const expected = Buffer.concat([content.subarray(0, PART), src.subarray(0, PART), rest]);
      const head = await c.headObject({ bucket, key });
      expect(head.body).toMatchObject({ contentLength: expected.length, contentType: 'application/octet-stream', metadata: { job: 't1' } });
      const got = await c.getObject({ bucket, key });
      expect(sha256(await readAll(got.body!.response))).toBe(sha256(expected));

      const copied = await c.copyObject({ bucket, key: 'out/copy.bin', sourceBucket: bucket, sourceKey: key, ifMatch: head.body!.etag });
      expect(copied.body!.etag).not.toBe('');
      const copyGot = await c.getObject({ bucket, key: 'out/copy.bin', range: { start: PART, end: PART + 9 } });
      expect((await readAll(copyGot.body!.response)).equals(expected.subarray(PART, PART + 10))).toBe(true);

      // Abort, then the upload is gone.
      const other = (await c.initiateMultipartUpload({ bucket, key: 'out/aborted' })).body!.uploadId;
      expect((await c.abortMultipartUpload({ bucket, key: 'out/aborted', uploadId: other })).status).toBe(204);
      const gone = (await c.listParts({ bucket, key: 'out/aborted', uploadId: other }).catch((e: unknown) => e)) as StorageError;
      expect(gone.result).toMatchObject({ status: 404, errorCode: 'NoSuchUpload' });

      const { signedUrl } = c.createSignedUrl({ method: 'GET', bucket, key: 'src/obj 1.bin' });
      expect(signedUrl).toContain(signature === 'v4' ? 'X-Amz-Signature=' : 'Signature=');

      for (const o of await c.listAllObjects({ bucket })) await c.deleteObject({ bucket, key: o.key });
      expect((await c.deleteBucket({ bucket })).status).toBe(204);
    });

    it('a wrong secret is refused (SignatureDoesNotMatch) after one attempt', async () => {
      const c = make(signature, pathStyle, { credentials: { accessKeyId: ds.obs.accessKeyId, secretAccessKey: 'wrong' } });
      const err = (await c.headBucket({ bucket: 'faults' }).catch((e: unknown) => e)) as StorageError;
      expect(err).toBeInstanceOf(StorageError);
      expect(err.result.status).toBe(403);
      expect(err.attempts).toBe(1);
      const err2 = (await c.listObjects({ bucket: 'faults' }).catch((e: unknown) => e)) as StorageError;
      expect(err2.result.errorCode).toBe('SignatureDoesNotMatch');
    });
  });

  describe('faults injected by devstack', () => {
    it('retryable (503 SlowDown twice) is retried and succeeds', async () => {
      ds.setFaults([{ op: 'UploadPart', times: 2, error: { status: 503, code: 'SlowDown' } }]);
      const c = make('v4', true);
      const uploadId = (await c.initiateMultipartUpload({ bucket: 'faults', key: 'k1' })).body!.uploadId;
      ds.resetStats();
      const r = await c.uploadPart({ bucket: 'faults', key: 'k1', uploadId, partNumber: 1, body: { path: file, start: 0, length: 1000 }, contentMd5: md5b64(content.subarray(0, 1000)) });
      expect(r.body!.etag.replace(/"/g, '')).toBe(md5hex(content.subarray(0, 1000)));
      expect(ds.stats().operations.UploadPart).toMatchObject({ requests: 3, faults: { error: 2 } });
      expect(events.filter((e) => e.operation === 'UploadPart').map((e) => [e.status, e.willRetry])).toEqual([[503, true], [503, true], [200, false]]);
    });

    it('a connection reset mid-body is retried with the file range re-read', async () => {
      ds.setFaults([{ op: 'UploadPart', times: 1, reset: { afterBytes: 10_000 } }]);
      const c = make('obs', false);
      const uploadId = (await c.initiateMultipartUpload({ bucket: 'faults', key: 'k2' })).body!.uploadId;
      const r = await c.uploadPart({ bucket: 'faults', key: 'k2', uploadId, partNumber: 1, body: { path: file, start: 0, length: PART }, contentMd5: md5b64(content.subarray(0, PART)) });
      expect(r.body!.etag.replace(/"/g, '')).toBe(md5hex(content.subarray(0, PART)));
      const parts = await c.listAllParts({ bucket: 'faults', key: 'k2', uploadId });
      expect(parts).toHaveLength(1);
      expect(events.filter((e) => e.operation === 'UploadPart').map((e) => e.status)).toEqual([0, 200]);
    });

    it('permanent (403 AccessDenied) gives errorCode after one attempt', async () => {
      ds.setFaults([{ op: 'CompleteMultipartUpload', error: { status: 403, code: 'AccessDenied', message: 'no' } }]);
      const c = make('v2', true);
      const uploadId = (await c.initiateMultipartUpload({ bucket: 'faults', key: 'k3' })).body!.uploadId;
      const p = await c.uploadPart({ bucket: 'faults', key: 'k3', uploadId, partNumber: 1, body: 'x' });
      ds.resetStats();
      const err = (await c.completeMultipartUpload({ bucket: 'faults', key: 'k3', uploadId, parts: [{ partNumber: 1, etag: p.body!.etag }] }).catch((e: unknown) => e)) as StorageError;
      expect(err).toBeInstanceOf(StorageError);
      expect(err).toMatchObject({ permanent: true, attempts: 1 });
      expect(err.result).toMatchObject({ status: 403, errorCode: 'AccessDenied', errorMessage: 'no', body: null });
      expect(ds.stats().operations.CompleteMultipartUpload?.requests).toBe(1);
    });

    it('gives up after maxAttempts on a persistent 500, reporting the last record', async () => {
      ds.setFaults([{ op: 'HeadObject', error: { status: 500, code: 'InternalError' } }]);
      const c = make('v4', false, { maxAttempts: 2 });
      const err = (await c.headObject({ bucket: 'faults', key: 'whatever' }).catch((e: unknown) => e)) as StorageError;
      expect(err).toMatchObject({ permanent: false, attempts: 2 });
      expect(err.result.status).toBe(500);
    });
  });
});
