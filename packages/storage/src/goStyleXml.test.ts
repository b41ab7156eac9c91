import { createServer, type Server } from 'node:http';
import type { Socket } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ObsClient } from './obsClient.js';
import type { StorageError } from './storageError.js';

/**
 * Go's encoding/xml (MinIO, SeaweedFS, rclone's server side, any Go S3 clone) escapes text with
 * numeric references: `"` → `&#34;`, `'` → `&#39;`, tab/LF/CR → `&#x9;`/`&#xA;`/`&#xD;`.
 * These bodies are written the way Go's `xml.EscapeText` writes them.
 */
const GO_DECL = '<?xml version="1.0" encoding="UTF-8"?>\n';
const NS = ' xmlns="http://s3.amazonaws.com/doc/2006-03-01/"';

interface Reply {
  status: number;
  body: string;
}

describe('ObsClient reads Go-style XML (numeric character references)', () => {
  let server: Server;
  let port = 0;
  const sockets = new Set<Socket>();
  const replies: Reply[] = [];
  const clients: ObsClient[] = [];

  const client = (): ObsClient => {
    const c = new ObsClient({
      endpoint: `http://127.0.0.1:${port}`,
      signature: 'v4',
      region: 'us-east-1',
      credentials: { accessKeyId: 'AK', secretAccessKey: 'SK' },
      keepAliveTimeoutMs: 10,
      maxAttempts: 1,
    });
    clients.push(c);
    return c;
  };

  beforeAll(async () => {
    server = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        const r = replies.shift() ?? { status: 500, body: '<Error><Code>InternalError</Code><Message>no reply scripted</Message></Error>' };
        res.writeHead(r.status, { 'content-type': 'application/xml', 'x-amz-request-id': 'HDRRID' }).end(r.body);
      });
    });
    server.on('connection', (s) => {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as { port: number }).port;
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
    expect(replies, 'every scripted reply was used').toHaveLength(0);
  });
  afterAll(async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('ListParts: ETags come back with their quotes', async () => {
    replies.push({
      status: 200,
      body:
        `${GO_DECL}<ListPartsResult${NS}><Bucket>b</Bucket><Key>dir/it&#39;s &#34;x&#34; &amp; y</Key>` +
        '<UploadId>up-1</UploadId><StorageClass>STANDARD</StorageClass><PartNumberMarker>0</PartNumberMarker>' +
        '<NextPartNumberMarker>2</NextPartNumberMarker><MaxParts>1000</MaxParts><IsTruncated>false</IsTruncated>' +
        '<Part><PartNumber>1</PartNumber><LastModified>2026-12-01T00:00:00.000Z</LastModified><ETag>&#34;0a1b-1&#34;</ETag><Size>5242880</Size></Part>' +
        '<Part><PartNumber>2</PartNumber><LastModified>2026-12-01T00:00:01.000Z</LastModified><ETag>&#x22;0a1b-2&#x22;</ETag><Size>7</Size></Part>' +
        '</ListPartsResult>',
    });
    const r = await client().listParts({ bucket: 'b', key: 'k', uploadId: 'up-1' });
    expect(r.body).toMatchObject({
      key: `dir/it's "x" & y`,
      uploadId: 'up-1',
      nextPartNumberMarker: 2,
      isTruncated: false,
      parts: [
        { partNumber: 1, etag: '"0a1b-1"', size: 5242880 },
        { partNumber: 2, etag: '"0a1b-2"', size: 7 },
      ],
    });
  });

  it('CompleteMultipartUploadResult: the ETag is "abc-3", not &#34;abc-3&#34;', async () => {
    replies.push({
      status: 200,
      body:
        `${GO_DECL}<CompleteMultipartUploadResult${NS}><Location>http://127.0.0.1/b/k</Location>` +
        '<Bucket>b</Bucket><Key>k</Key><ETag>&#34;abc-3&#34;</ETag></CompleteMultipartUploadResult>',
    });
    const r = await client().completeMultipartUpload({ bucket: 'b', key: 'k', uploadId: 'u', parts: [{ partNumber: 1, etag: '"p1"' }] });
    expect(r.body).toMatchObject({ etag: '"abc-3"', location: 'http://127.0.0.1/b/k', bucket: 'b', key: 'k' });
  });

  it('CopyPartResult and CopyObjectResult ETags', async () => {
    replies.push(
      { status: 200, body: `${GO_DECL}<CopyPartResult><LastModified>2026-12-01T00:00:00.000Z</LastModified><ETag>&#34;cp1&#34;</ETag></CopyPartResult>` },
      { status: 200, body: `${GO_DECL}<CopyObjectResult><LastModified>2026-12-01T00:00:00.000Z</LastModified><ETag>&#34;co&#34;</ETag></CopyObjectResult>` },
    );
    const c = client();
    const part = await c.uploadPartCopy({ bucket: 'b', key: 'k', uploadId: 'u', partNumber: 1, sourceBucket: 's', sourceKey: 'x', range: { start: 0, end: 9 } });
    expect(part.body?.etag).toBe('"cp1"');
    const obj = await c.copyObject({ bucket: 'b', key: 'k', sourceBucket: 's', sourceKey: 'x' });
    expect(obj.body?.etag).toBe('"co"');
  });

  it('ListObjects: keys with tab, LF, CR and quotes; ETags; common prefixes', async () => {
    replies.push({
      status: 200,
      body:
        `${GO_DECL}<ListBucketResult${NS}><Name>b</Name><Prefix>p/</Prefix><Marker></Marker><MaxKeys>1000</MaxKeys>` +
        '<Delimiter>/</Delimiter><IsTruncated>false</IsTruncated>' +
        '<Contents><Key>p/a&#x9;b&#xA;c&#xD;d &#34;q&#34; &#39;s&#39;</Key><LastModified>2026-12-01T00:00:00.000Z</LastModified>' +
        '<ETag>&#34;d41d8cd98f00b204e9800998ecf8427e&#34;</ETag><Size>0</Size><StorageClass>STANDARD</StorageClass></Contents>' +
        '<Contents><Key>p/&lt;tag&gt;</Key><LastModified>2026-12-01T00:00:00.000Z</LastModified>' +
        '<ETag>&#34;aa-2&#34;</ETag><Size>12</Size><StorageClass>STANDARD</StorageClass></Contents>' +
        '<CommonPrefixes><Prefix>p/d&#39;r/</Prefix></CommonPrefixes></ListBucketResult>',
    });
    const r = await client().listObjects({ bucket: 'b', prefix: 'p/', delimiter: '/' });
    expect(r.body?.contents).toEqual([
      { key: `p/a\tb\nc\rd "q" 's'`, etag: '"d41d8cd98f00b204e9800998ecf8427e"', size: 0, lastModified: '2026-12-01T00:00:00.000Z', storageClass: 'STANDARD' },
      { key: 'p/<tag>', etag: '"aa-2"', size: 12, lastModified: '2026-12-01T00:00:00.000Z', storageClass: 'STANDARD' },
    ]);
    expect(r.body?.commonPrefixes).toEqual([{ prefix: "p/d'r/" }]);
  });

  it('ListMultipartUploads: keys and markers', async () => {
    replies.push({
      status: 200,
      body:
        `${GO_DECL}<ListMultipartUploadsResult${NS}><Bucket>b</Bucket><KeyMarker></KeyMarker><UploadIdMarker></UploadIdMarker>` +
        '<NextKeyMarker>k&#34;2</NextKeyMarker><NextUploadIdMarker>u&#43;2</NextUploadIdMarker><Prefix></Prefix>' +
        '<MaxUploads>2</MaxUploads><IsTruncated>true</IsTruncated>' +
        '<Upload><Key>k&#34;1</Key><UploadId>u1</UploadId><StorageClass>STANDARD</StorageClass><Initiated>2026-12-01T00:00:00.000Z</Initiated></Upload>' +
        '<Upload><Key>k&#34;2</Key><UploadId>u&#43;2</UploadId><StorageClass>STANDARD</StorageClass><Initiated>2026-12-01T00:00:00.000Z</Initiated></Upload>' +
        '</ListMultipartUploadsResult>',
    });
    const r = await client().listMultipartUploads({ bucket: 'b', maxUploads: 2 });
    expect(r.body).toMatchObject({
      nextKeyMarker: 'k"2',
      nextUploadIdMarker: 'u+2',
      isTruncated: true,
      uploads: [{ key: 'k"1', uploadId: 'u1' }, { key: 'k"2', uploadId: 'u+2' }],
    });
  });

  it('error XML: code, message and resource are decoded', async () => {
    replies.push({
      status: 404,
      body:
        `${GO_DECL}<Error><Code>NoSuchUpload</Code><Message>The specified multipart upload does not exist. ` +
        'The upload ID may be invalid, or the upload may have been aborted or completed.</Message>' +
        '<Key>it&#39;s</Key><BucketName>b</BucketName><Resource>/b/it&#39;s</Resource>' +
        '<RequestId>17F&#34;RID</RequestId><HostId>dd9025bab4ad464b049177c95eb6ebf374d3b3fd1af9251148b658df7ac2e3e8</HostId></Error>',
    });
    const err = (await client().listParts({ bucket: 'b', key: "it's", uploadId: 'u' }).catch((e: unknown) => e)) as StorageError;
    expect(err.code).toBe('OBSQ_STORAGE');
    expect(err.result).toMatchObject({ status: 404, errorCode: 'NoSuchUpload', resource: "/b/it's", requestId: '17F"RID' });
  });

  it('a reference outside XML (&#0;) or an entity it never declared is an InvalidResponse, not a misread ETag', async () => {
    replies.push(
      { status: 200, body: `${GO_DECL}<CompleteMultipartUploadResult><ETag>&#0;abc&#0;</ETag></CompleteMultipartUploadResult>` },
      { status: 200, body: `${GO_DECL}<!DOCTYPE x [<!ENTITY q "&#34;">]><CompleteMultipartUploadResult><ETag>&q;abc&q;</ETag></CompleteMultipartUploadResult>` },
    );
    const c = client();
    for (let i = 0; i < 2; i++) {
      const err = (await c.completeMultipartUpload({ bucket: 'b', key: 'k', uploadId: 'u', parts: [{ partNumber: 1, etag: '"p"' }] }).catch((e: unknown) => e)) as StorageError;
      expect(err.result).toMatchObject({ status: 200, errorCode: 'InvalidResponse' });
      expect(err.result.errorMessage).toMatch(/^XML: (character reference &#0; is not an XML character|DOCTYPE and other declarations are not accepted)/);
    }
  });
});
