import { createHash, randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { Readable } from 'node:stream';
import type { GetResult } from '@obsq/shared';
import { formatQuery, ObsClient, presignV4 } from '@obsq/storage';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startDevstack, type Devstack } from './startDevstack.js';

let ds: Devstack;
let client: ObsClient;

beforeAll(async () => {
  ds = await startDevstack({ buckets: ['integrity'], requireContentMd5: true, sis: false });
  client = new ObsClient({
    endpoint: ds.obs.endpoint,
    region: ds.obs.region,
    signature: 'v4',
    credentials: { accessKeyId: ds.obs.accessKeyId, secretAccessKey: ds.obs.secretAccessKey },
    retryBackoff: { baseMs: 1, maxMs: 5 },
    maxAttempts: 1,
  });
});

afterAll(async () => {
  await client?.close();
  await ds?.close();
});

beforeEach(() => {
  ds.setFaults([]);
  ds.configure({ requireContentMd5: true });
});

const md5 = (b: Buffer, enc: 'hex' | 'base64') => createHash('md5').update(b).digest(enc);
const failureOf = (p: Promise<unknown>) =>
  p.then(
    () => {
      throw new Error('expected the call to fail');
    },
    (err: { result: GetResult }) => err.result,
  );

async function getBytes(key: string): Promise<Buffer> {
  const res = await client.getObject({ bucket: 'integrity', key });
  const chunks: Buffer[] = [];
  for await (const c of res.body!.response) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** A presigned PUT, to read the wire format of the answer. */
function rawPut(path: string, body: Buffer): Promise<{ status: number; body: string }> {
  const creds = { accessKeyId: ds.obs.accessKeyId, secretAccessKey: ds.obs.secretAccessKey };
  const host = `127.0.0.1:${ds.obs.port}`;
  const signed = presignV4({ method: 'PUT', path, query: [], headers: {}, host }, creds, { region: ds.obs.region, date: new Date(), expires: 60 });
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port: ds.obs.port,
        method: 'PUT',
        path: `${path}?${formatQuery(signed.query)}`,
        headers: { 'content-length': String(body.length) },
        agent: false,
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (text += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

describe('requireContentMd5', () => {
  it('refuses PutObject and UploadPart without Content-MD5 with 400 InvalidRequest, and accepts them with it', async () => {
    const body = randomBytes(1000);
    const put = await failureOf(client.putObject({ bucket: 'integrity', key: 'no-md5', body: Readable.from([body]), contentLength: body.length }));
    expect(put).toMatchObject({ status: 400, errorCode: 'InvalidRequest' });
    expect(put.errorMessage).toBe('Missing required header for this request: Content-MD5.');

    const up = await client.initiateMultipartUpload({ bucket: 'integrity', key: 'mp-no-md5' });
    const uploadId = up.body!.uploadId;
    const part = await failureOf(
      client.uploadPart({ bucket: 'integrity', key: 'mp-no-md5', uploadId, partNumber: 1, body: Readable.from([body]), contentLength: body.length }),
    );
    expect(part).toMatchObject({ status: 400, errorCode: 'InvalidRequest' });

    // With the header (the client computes it for an in-memory body) both go through.
    expect((await client.putObject({ bucket: 'integrity', key: 'with-md5', body })).status).toBe(200);
    const ok = await client.uploadPart({ bucket: 'integrity', key: 'mp-no-md5', uploadId, partNumber: 1, body: Readable.from([body]), contentLength: body.length, contentMd5: md5(body, 'base64') });
    expect(ok.body!.etag).toBe(`"${md5(body, 'hex')}"`);
    await client.abortMultipartUpload({ bucket: 'integrity', key: 'mp-no-md5', uploadId });
  });

  it('answers with the S3 error XML', async () => {
    const res = await rawPut('/integrity/raw', Buffer.from('x'));
    expect(res.status).toBe(400);
    expect(res.body).toContain('<Code>InvalidRequest</Code>');
    expect(res.body).toContain('<Message>Missing required header for this request: Content-MD5.</Message>');
    expect(res.body).toContain('<Resource>/integrity/raw</Resource>');
  });

  it('can be switched off at runtime, and the admin API reports it', async () => {
    expect(ds.settings().requireContentMd5).toBe(true);
    ds.configure({ requireContentMd5: false });
    const body = randomBytes(10);
    const put = await client.putObject({ bucket: 'integrity', key: 'off', body: Readable.from([body]), contentLength: body.length });
    expect(put.status).toBe(200);
    const res = await fetch(`${ds.obs.endpoint}/__devstack/settings`, {
      method: 'PUT',
      body: JSON.stringify({ requireContentMd5: true }),
    });
    expect(await res.json()).toMatchObject({ requireContentMd5: true });
    expect(ds.settings().requireContentMd5).toBe(true);
    expect(() => ds.configure({ requireContentMd5: 'yes' as unknown as boolean })).toThrow(/requireContentMd5/);
  });
});

describe('data-tampering faults', () => {
  it('wrong-etag on UploadPart answers an ETag that is not the stored part\'s', async () => {
    ds.setFaults([{ op: 'UploadPart', times: 1, tamper: 'wrong-etag' }]);
    const body = randomBytes(2048);
    const up = await client.initiateMultipartUpload({ bucket: 'integrity', key: 'wrong-part' });
    const uploadId = up.body!.uploadId;
    const res = await client.uploadPart({ bucket: 'integrity', key: 'wrong-part', uploadId, partNumber: 1, body });
    const listed = await client.listAllParts({ bucket: 'integrity', key: 'wrong-part', uploadId });
    expect(listed[0]!.etag).toBe(`"${md5(body, 'hex')}"`);
    expect(res.body!.etag).toMatch(/^"[0-9a-f]{32}"$/);
    expect(res.body!.etag).not.toBe(listed[0]!.etag);
    // Completing with the ETag the server answered fails: the part it names does not exist.
    const done = await failureOf(client.completeMultipartUpload({ bucket: 'integrity', key: 'wrong-part', uploadId, parts: [{ partNumber: 1, etag: res.body!.etag }] }));
    expect(done).toMatchObject({ status: 400, errorCode: 'InvalidPart' });
    expect(ds.stats().operations.UploadPart!.faults.tamper).toBe(1);
  });

  it('wrong-etag on CompleteMultipartUpload keeps the multipart form but differs from the object\'s ETag', async () => {
    const body = randomBytes(4096);
    const up = await client.initiateMultipartUpload({ bucket: 'integrity', key: 'wrong-final' });
    const uploadId = up.body!.uploadId;
    const part = await client.uploadPart({ bucket: 'integrity', key: 'wrong-final', uploadId, partNumber: 1, body });
    ds.setFaults([{ op: 'CompleteMultipartUpload', tamper: 'wrong-etag' }]);
    const done = await client.completeMultipartUpload({ bucket: 'integrity', key: 'wrong-final', uploadId, parts: [{ partNumber: 1, etag: part.body!.etag }] });
    const head = await client.headObject({ bucket: 'integrity', key: 'wrong-final' });
    expect(done.body!.etag).toMatch(/^"[0-9a-f]{32}-1"$/);
    expect(head.body!.etag).toMatch(/^"[0-9a-f]{32}-1"$/);
    expect(done.body!.etag).not.toBe(head.body!.etag);
  });

  it('corrupt-body is caught by Content-MD5 (BadDigest) and, without it, stores other bytes', async () => {
    ds.setFaults([{ op: 'PutObject', tamper: 'corrupt-body' }]);
    const body = randomBytes(5000);
    const bad = await failureOf(client.putObject({ bucket: 'integrity', key: 'corrupt', body }));
    expect(bad).toMatchObject({ status: 400, errorCode: 'BadDigest' });
    await expect(client.headObject({ bucket: 'integrity', key: 'corrupt' })).rejects.toMatchObject({ result: { status: 404 } });

    ds.configure({ requireContentMd5: false });
    await client.putObject({ bucket: 'integrity', key: 'corrupt', body: Readable.from([body]), contentLength: body.length });
    const stored = await getBytes('corrupt');
    expect(stored.length).toBe(body.length);
    expect(stored.equals(body)).toBe(false);
    expect(stored.subarray(1).equals(body.subarray(1))).toBe(true);
  });

  it('a bare error answers the status alone, with an empty body', async () => {
    ds.setFaults([{ op: 'PutObject', times: 1, error: { status: 503, code: 'LoadBalancer', bare: true } }]);
    const res = await rawPut('/integrity/bare', Buffer.from('x'));
    expect(res).toEqual({ status: 503, body: '' });
    expect(ds.stats().operations.PutObject!.faults.error).toBe(1);
  });

  it('drop-response stores the object but cuts the connection instead of answering', async () => {
    ds.setFaults([{ op: 'PutObject', times: 1, tamper: 'drop-response' }]);
    ds.resetStats();
    const body = randomBytes(3000);
    const lost = await failureOf(client.putObject({ bucket: 'integrity', key: 'dropped', body }));
    expect(lost.status).toBe(0);
    expect((await getBytes('dropped')).equals(body)).toBe(true);
    expect(ds.stats().operations.PutObject!.faults.tamper).toBe(1);
  });

  it('refuses a rule with two outcomes', () => {
    expect(() => ds.setFaults([{ op: 'UploadPart', tamper: 'corrupt-body', reset: {} }])).toThrow(/at most one of/);
  });
});
