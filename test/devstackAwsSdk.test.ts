import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  ListPartsCommand,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
  UploadPartCommand,
  UploadPartCopyCommand,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { startDevstack, type Devstack } from '@obsq/devstack';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const KiB = 1024;
const md5 = (b: Buffer) => createHash('md5').update(b).digest('hex');

let ds: Devstack;
let s3: S3Client;

function client(overrides: Partial<S3ClientConfig> = {}): S3Client {
  return new S3Client({
    endpoint: ds.obs.endpoint,
    region: ds.obs.region,
    credentials: { accessKeyId: ds.obs.accessKeyId, secretAccessKey: ds.obs.secretAccessKey },
    forcePathStyle: true,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    ...overrides,
  });
}

/** Runs `fn` and returns the S3 error it must throw. */
async function s3Error(fn: () => Promise<unknown>): Promise<S3ServiceException> {
  try {
    await fn();
  } catch (err) {
    if (err instanceof S3ServiceException) return err;
    throw err;
  }
  throw new Error('expected an S3 error, got success');
}

async function bodyBytes(out: { Body?: unknown }): Promise<Buffer> {
  const body = out.Body as { transformToByteArray(): Promise<Uint8Array> };
  return Buffer.from(await body.transformToByteArray());
}

async function initiate(bucket: string, key: string): Promise<string> {
  const out = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key }));
  return out.UploadId as string;
}

async function part(bucket: string, key: string, uploadId: string, n: number, body: Buffer): Promise<string> {
  const out = await s3.send(new UploadPartCommand({ Bucket: bucket, Key: key, UploadId: uploadId, PartNumber: n, Body: body }));
  return out.ETag as string;
}

beforeAll(async () => {
  ds = await startDevstack({ buckets: ['aws-sdk-test'] });
  s3 = client();
});

afterAll(async () => {
  s3?.destroy();
  await ds?.close();
});

describe('devstack with @aws-sdk/client-s3 (SigV4, path-style)', () => {
  const Bucket = 'aws-sdk-test';
  const p1 = randomBytes(150 * KiB);
  const p2 = randomBytes(40 * KiB);
  const whole = Buffer.concat([p1, p2]);

  it('runs a multipart upload end to end and lists its parts', async () => {
    const Key = 'mp/object.bin';
    const UploadId = await initiate(Bucket, Key);
    const e1 = await part(Bucket, Key, UploadId, 1, p1);
    const e2 = await part(Bucket, Key, UploadId, 2, p2);
    expect(e1).toBe(`"${md5(p1)}"`);

    const listed = await s3.send(new ListPartsCommand({ Bucket, Key, UploadId, MaxParts: 1 }));
    expect(listed.Parts?.map((p) => p.PartNumber)).toEqual([1]);
    expect(listed.IsTruncated).toBe(true);
    const next = await s3.send(
      new ListPartsCommand({ Bucket, Key, UploadId, PartNumberMarker: listed.NextPartNumberMarker as string }),
    );
    expect(next.Parts?.map((p) => [p.PartNumber, p.Size, p.ETag])).toEqual([[2, p2.length, e2]]);
    expect(next.IsTruncated).toBe(false);

    const done = await s3.send(
      new CompleteMultipartUploadCommand({
        Bucket,
        Key,
        UploadId,
        MultipartUpload: { Parts: [{ PartNumber: 1, ETag: e1 }, { PartNumber: 2, ETag: e2 }] },
      }),
    );
    const expected = createHash('md5')
      .update(Buffer.concat([Buffer.from(md5(p1), 'hex'), Buffer.from(md5(p2), 'hex')]))
      .digest('hex');
    expect(done.ETag).toBe(`"${expected}-2"`);

    const head = await s3.send(new HeadObjectCommand({ Bucket, Key }));
    expect(head.ContentLength).toBe(whole.length);
    expect(head.ETag).toBe(`"${expected}-2"`);
    const got = await s3.send(new GetObjectCommand({ Bucket, Key }));
    expect((await bodyBytes(got)).equals(whole)).toBe(true);
  });

  it('serves ranged GETs, including suffix and open ranges, and refuses unsatisfiable ones', async () => {
    const Key = 'range.bin';
    const data = randomBytes(1000);
    await s3.send(new PutObjectCommand({ Bucket, Key, Body: data }));
    const mid = await s3.send(new GetObjectCommand({ Bucket, Key, Range: 'bytes=10-19' }));
    expect(mid.ContentRange).toBe('bytes 10-19/1000');
    expect((await bodyBytes(mid)).equals(data.subarray(10, 20))).toBe(true);
    const suffix = await s3.send(new GetObjectCommand({ Bucket, Key, Range: 'bytes=-5' }));
    expect((await bodyBytes(suffix)).equals(data.subarray(995))).toBe(true);
    const open = await s3.send(new GetObjectCommand({ Bucket, Key, Range: 'bytes=990-' }));
    expect(open.ContentLength).toBe(10);
    expect((await bodyBytes(open)).equals(data.subarray(990))).toBe(true);
    const bad = await s3Error(() => s3.send(new GetObjectCommand({ Bucket, Key, Range: 'bytes=1000-' })));
    expect(bad.$metadata.httpStatusCode).toBe(416);
    expect(bad.name).toBe('InvalidRange');
  });

  it('copies objects (COPY / REPLACE metadata, If-Match) and parts (UploadPartCopy with a range)', async () => {
    const src = 'copy/src.bin';
    const data = randomBytes(300 * KiB);
    const put = await s3.send(
      new PutObjectCommand({ Bucket, Key: src, Body: data, ContentType: 'audio/wav', Metadata: { origin: 'test' } }),
    );

    await s3.send(new CopyObjectCommand({ Bucket, Key: 'copy/a', CopySource: `${Bucket}/${src}` }));
    const a = await s3.send(new HeadObjectCommand({ Bucket, Key: 'copy/a' }));
    expect(a.Metadata).toEqual({ origin: 'test' });
    expect(a.ContentType).toBe('audio/wav');
    expect(a.ETag).toBe(put.ETag);

    await s3.send(
      new CopyObjectCommand({
        Bucket,
        Key: 'copy/b',
        CopySource: `${Bucket}/${src}`,
        MetadataDirective: 'REPLACE',
        Metadata: { origin: 'replaced' },
        ContentType: 'application/octet-stream',
        CopySourceIfMatch: put.ETag,
      }),
    );
    const b = await s3.send(new HeadObjectCommand({ Bucket, Key: 'copy/b' }));
    expect(b.Metadata).toEqual({ origin: 'replaced' });

    const failed = await s3Error(() =>
      s3.send(new CopyObjectCommand({ Bucket, Key: 'copy/c', CopySource: `${Bucket}/${src}`, CopySourceIfMatch: '"0000"' })),
    );
    expect(failed.$metadata.httpStatusCode).toBe(412);
    expect(failed.name).toBe('PreconditionFailed');

    const Key = 'copy/parts.bin';
    const UploadId = await initiate(Bucket, Key);
    const c1 = await s3.send(
      new UploadPartCopyCommand({
        Bucket, Key, UploadId, PartNumber: 1, CopySource: `${Bucket}/${src}`, CopySourceRange: 'bytes=0-153599',
      }),
    );
    const c2 = await s3.send(
      new UploadPartCopyCommand({
        Bucket, Key, UploadId, PartNumber: 2, CopySource: `${Bucket}/${src}`, CopySourceRange: `bytes=153600-${data.length - 1}`,
        CopySourceIfMatch: put.ETag,
      }),
    );
    expect(c1.CopyPartResult?.ETag).toBe(`"${md5(data.subarray(0, 153600))}"`);
    await s3.send(
      new CompleteMultipartUploadCommand({
        Bucket, Key, UploadId,
        MultipartUpload: {
          Parts: [
            { PartNumber: 1, ETag: c1.CopyPartResult?.ETag as string },
            { PartNumber: 2, ETag: c2.CopyPartResult?.ETag as string },
          ],
        },
      }),
    );
    const got = await s3.send(new GetObjectCommand({ Bucket, Key }));
    expect((await bodyBytes(got)).equals(data)).toBe(true);

    const pcFail = await s3Error(() =>
      s3.send(new UploadPartCopyCommand({
        Bucket, Key: 'copy/x', UploadId: 'F'.repeat(32), PartNumber: 1, CopySource: `${Bucket}/${src}`,
      })),
    );
    expect(pcFail.name).toBe('NoSuchUpload');
  });

  it('enforces InvalidPartOrder, InvalidPart, EntityTooSmall and NoSuchUpload', async () => {
    const Key = 'mp/errors.bin';
    const UploadId = await initiate(Bucket, Key);
    const e1 = await part(Bucket, Key, UploadId, 1, randomBytes(10 * KiB));
    const e2 = await part(Bucket, Key, UploadId, 2, randomBytes(10 * KiB));
    const complete = (Parts: Array<{ PartNumber: number; ETag: string }>, id = UploadId) =>
      s3.send(new CompleteMultipartUploadCommand({ Bucket, Key, UploadId: id, MultipartUpload: { Parts } }));

    const order = await s3Error(() => complete([{ PartNumber: 2, ETag: e2 }, { PartNumber: 1, ETag: e1 }]));
    expect([order.name, order.$metadata.httpStatusCode]).toEqual(['InvalidPartOrder', 400]);
    const wrong = await s3Error(() => complete([{ PartNumber: 1, ETag: e2 }, { PartNumber: 2, ETag: e2 }]));
    expect([wrong.name, wrong.$metadata.httpStatusCode]).toEqual(['InvalidPart', 400]);
    const missing = await s3Error(() => complete([{ PartNumber: 1, ETag: e1 }, { PartNumber: 3, ETag: e2 }]));
    expect(missing.name).toBe('InvalidPart');
    const tooSmall = await s3Error(() => complete([{ PartNumber: 1, ETag: e1 }, { PartNumber: 2, ETag: e2 }]));
    expect([tooSmall.name, tooSmall.$metadata.httpStatusCode]).toEqual(['EntityTooSmall', 400]);

    // A single small part is fine: the last part has no minimum.
    await complete([{ PartNumber: 1, ETag: e1 }]);
    const again = await s3Error(() => complete([{ PartNumber: 1, ETag: e1 }]));
    expect([again.name, again.$metadata.httpStatusCode]).toEqual(['NoSuchUpload', 404]);

    const other = await initiate(Bucket, Key);
    await s3.send(new AbortMultipartUploadCommand({ Bucket, Key, UploadId: other }));
    const gone = await s3Error(() => s3.send(new ListPartsCommand({ Bucket, Key, UploadId: other })));
    expect(gone.name).toBe('NoSuchUpload');
  });

  it('answers SignatureDoesNotMatch (403) to a wrong secret and InvalidAccessKeyId to a wrong key', async () => {
    const bad = client({ credentials: { accessKeyId: ds.obs.accessKeyId, secretAccessKey: 'wrong-secret' } });
    try {
      const err = await s3Error(() => bad.send(new HeadObjectCommand({ Bucket, Key: 'range.bin' })));
      expect(err.$metadata.httpStatusCode).toBe(403);
      const put = await s3Error(() => bad.send(new PutObjectCommand({ Bucket, Key: 'x', Body: 'abc' })));
      expect([put.name, put.$metadata.httpStatusCode]).toEqual(['SignatureDoesNotMatch', 403]);
    } finally {
      bad.destroy();
    }
    const unknown = client({ credentials: { accessKeyId: 'NOPE', secretAccessKey: 'x' } });
    try {
      const err = await s3Error(() => unknown.send(new ListObjectsV2Command({ Bucket })));
      expect([err.name, err.$metadata.httpStatusCode]).toEqual(['InvalidAccessKeyId', 403]);
    } finally {
      unknown.destroy();
    }
  });

  it('decodes aws-chunked streaming bodies (default checksums, CRC32 trailer)', async () => {
    const streaming = client({ requestChecksumCalculation: 'WHEN_SUPPORTED' });
    try {
      const data = randomBytes(100_000);
      await streaming.send(
        new PutObjectCommand({ Bucket, Key: 'chunked.bin', Body: Readable.from([data.subarray(0, 60_000), data.subarray(60_000)]), ContentLength: data.length }),
      );
      const got = await s3.send(new GetObjectCommand({ Bucket, Key: 'chunked.bin' }));
      expect(got.ContentLength).toBe(data.length);
      expect((await bodyBytes(got)).equals(data)).toBe(true);
    } finally {
      streaming.destroy();
    }
  });

  it('pages ListObjectsV2 with prefix and delimiter', async () => {
    for (const k of ['list/a/1', 'list/a/2', 'list/b', 'list/c/1', 'list/d']) {
      await s3.send(new PutObjectCommand({ Bucket, Key: k, Body: k }));
    }
    const seen: string[] = [];
    let token: string | undefined;
    do {
      const page = await s3.send(
        new ListObjectsV2Command({ Bucket, Prefix: 'list/', Delimiter: '/', MaxKeys: 2, ContinuationToken: token }),
      );
      seen.push(...(page.CommonPrefixes ?? []).map((p) => p.Prefix as string), ...(page.Contents ?? []).map((c) => c.Key as string));
      token = page.NextContinuationToken;
    } while (token);
    expect(seen.sort()).toEqual(['list/a/', 'list/b', 'list/c/', 'list/d']);
  });

  it('retries through injected 503 SlowDown faults on UploadPart and counts them', async () => {
    ds.resetStats();
    ds.setFaults([{ op: 'UploadPart', times: 2, error: { status: 503, code: 'SlowDown' } }]);
    try {
      const Key = 'faults.bin';
      const UploadId = await initiate(Bucket, Key);
      const etag = await part(Bucket, Key, UploadId, 1, randomBytes(1000));
      expect(etag).toMatch(/^"[0-9a-f]{32}"$/);
      const stats = ds.stats().operations.UploadPart;
      expect(stats).toEqual({ requests: 3, faults: { error: 2, latency: 0, reset: 0, tamper: 0 } });
    } finally {
      ds.setFaults([]);
    }
  });

  it('creates buckets and refuses anonymous access', async () => {
    await s3.send(new CreateBucketCommand({ Bucket: 'made-by-sdk' }));
    const res = await fetch(`${ds.obs.endpoint}/made-by-sdk?list-type=2`);
    expect(res.status).toBe(403);
    expect(await res.text()).toContain('<Code>AccessDenied</Code>');
    expect(res.headers.get('x-obs-request-id')).toMatch(/^[0-9A-F]{32}$/);
  });
});
