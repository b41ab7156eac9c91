import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import { createRequire } from 'node:module';
import type { LookupFunction } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { startDevstack, type Devstack } from '@obsq/devstack';
import { ObsClient as OurObsClient } from '@obsq/storage';
import { type GetResult } from '@obsq/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/** The slice of Huawei's esdk-obs-nodejs 3.26.8 API used here (it ships no types). */
interface EsdkResult {
  CommonMsg: { Status: number; Code: string; Message: string; HostId: string; RequestId: string; Indicator?: string };
  InterfaceResult?: Record<string, unknown>;
}
type EsdkCall = (param: Record<string, unknown>) => Promise<EsdkResult>;
interface EsdkClient {
  headBucket: EsdkCall;
  initiateMultipartUpload: EsdkCall;
  uploadPart: EsdkCall;
  listParts: EsdkCall;
  completeMultipartUpload: EsdkCall;
  copyObject: EsdkCall;
  copyPart: EsdkCall;
  getObjectMetadata: EsdkCall;
  getObject: EsdkCall;
  abortMultipartUpload: EsdkCall;
}
type EsdkCtor = new (opts: Record<string, unknown>) => EsdkClient;
const EsdkObsClient = createRequire(import.meta.url)('esdk-obs-nodejs') as EsdkCtor;

const KiB = 1024;
const PART1 = 150 * KiB;
const md5 = (b: Buffer) => createHash('md5').update(b).digest('hex');

/**
 * esdk needs a virtual-hosted name for the OBS signature (IP endpoints force V2): the test's own
 * agent resolves every name (`bucket.obs.localhost`) to loopback, so nothing leaves the machine.
 */
const loopbackLookup = ((_host: string, opts: { all?: boolean }, cb: (...args: unknown[]) => void) => {
  if (opts.all) cb(null, [{ address: '127.0.0.1', family: 4 }]);
  else cb(null, '127.0.0.1', 4);
}) as unknown as LookupFunction;

let ds: Devstack;
let dir: string;
let file: string;
let data: Buffer;
const agents: http.Agent[] = [];

async function esdk(mode: 'obs' | 'v2', secret = ds.obs.secretAccessKey): Promise<EsdkClient> {
  const agent = new http.Agent({ lookup: loopbackLookup });
  agents.push(agent);
  const client = new EsdkObsClient({
    access_key_id: ds.obs.accessKeyId,
    secret_access_key: secret,
    // OBS: hostname endpoint, esdk negotiates (HEAD /?apiversion) and signs "OBS AK:sig".
    // V2: an IP endpoint makes esdk use path-style and "AWS AK:sig" (negotiation off).
    server: mode === 'obs' ? ds.obs.virtualHostedEndpoint : ds.obs.endpoint,
    http_agent: agent,
    max_retry_count: 0,
  });
  // esdk's constructor finishes initialising one tick later.
  await new Promise((resolve) => setImmediate(resolve));
  return client;
}

function ok(r: EsdkResult): Record<string, unknown> {
  expect(r.CommonMsg.Code, r.CommonMsg.Message).toBe('');
  expect(r.CommonMsg.Status).toBeLessThan(300);
  return r.InterfaceResult ?? {};
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

beforeAll(async () => {
  ds = await startDevstack({ buckets: ['esdk-obs', 'esdk-v2'] });
  dir = await mkdtemp(join(tmpdir(), 'obsq-esdk-'));
  data = randomBytes(PART1 + 60 * KiB);
  file = join(dir, 'source.bin');
  await writeFile(file, data);
});

afterAll(async () => {
  for (const a of agents) a.destroy();
  await ds?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe.each([
  ['obs', 'esdk-obs'],
  ['v2', 'esdk-v2'],
] as const)('esdk-obs-nodejs in %s signature mode', (mode, Bucket) => {
  const Key = `upload/${mode} file.bin`;
  let client: EsdkClient;
  let uploadId = '';

  beforeAll(async () => {
    client = await esdk(mode);
  });

  it('signs the way devstack expects (HEAD bucket)', async () => {
    ok(await client.headBucket({ Bucket }));
    const ops = ds.stats().operations;
    if (mode === 'obs') expect(ops.GetApiVersion?.requests ?? 0).toBeGreaterThan(0);
  });

  it('initiates, uploads binary parts from a file, lists parts and completes', async () => {
    const init = ok(
      await client.initiateMultipartUpload({ Bucket, Key, ContentType: 'audio/wav', Metadata: { origin: 'esdk' } }),
    );
    uploadId = init.UploadId as string;
    expect(init).toMatchObject({ Bucket, Key });
    expect(uploadId).toMatch(/^[0-9A-F]{32}$/);

    const p1 = ok(await client.uploadPart({ Bucket, Key, UploadId: uploadId, PartNumber: 1, SourceFile: file, Offset: 0, PartSize: PART1 }));
    const p2 = ok(
      await client.uploadPart({ Bucket, Key, UploadId: uploadId, PartNumber: 2, SourceFile: file, Offset: PART1, PartSize: data.length - PART1 }),
    );
    expect(p1.ETag).toBe(`"${md5(data.subarray(0, PART1))}"`);
    expect(p2.ETag).toBe(`"${md5(data.subarray(PART1))}"`);

    const page1 = ok(await client.listParts({ Bucket, Key, UploadId: uploadId, MaxParts: 1 }));
    expect(page1.IsTruncated).toBe('true');
    expect((page1.Parts as Array<Record<string, string>>).map((p) => p.PartNumber)).toEqual(['1']);
    const page2 = ok(
      await client.listParts({ Bucket, Key, UploadId: uploadId, PartNumberMarker: page1.NextPartNumberMarker }),
    );
    expect(page2.Parts).toEqual([
      expect.objectContaining({ PartNumber: '2', ETag: p2.ETag, Size: String(data.length - PART1) }),
    ]);

    const done = ok(
      await client.completeMultipartUpload({
        Bucket, Key, UploadId: uploadId,
        Parts: [{ PartNumber: 1, ETag: p1.ETag }, { PartNumber: 2, ETag: p2.ETag }],
      }),
    );
    const expected = md5(Buffer.concat([Buffer.from(md5(data.subarray(0, PART1)), 'hex'), Buffer.from(md5(data.subarray(PART1)), 'hex')]));
    expect(done).toMatchObject({ Bucket, Key, ETag: `"${expected}-2"` });
  });

  it('reads metadata (getObjectMetadata) and content (getObject, ranged too)', async () => {
    const head = ok(await client.getObjectMetadata({ Bucket, Key }));
    expect(head).toMatchObject({ ContentLength: String(data.length), ContentType: 'audio/wav', Metadata: { origin: 'esdk' } });
    expect(head.ETag).toMatch(/-2"$/);

    const whole = ok(await client.getObject({ Bucket, Key, SaveAsStream: true }));
    expect((await readAll(whole.Content as Readable)).equals(data)).toBe(true);
    const part = ok(await client.getObject({ Bucket, Key, SaveAsStream: true, Range: 'bytes=100-199' }));
    expect((await readAll(part.Content as Readable)).equals(data.subarray(100, 200))).toBe(true);
  });

  it('copies an object (REPLACE metadata) and a part range (copyPart)', async () => {
    const copy = ok(
      await client.copyObject({
        Bucket, Key: `${Key}.copy`, CopySource: `${Bucket}/${Key}`,
        MetadataDirective: 'REPLACE', Metadata: { origin: 'copied' }, ContentType: 'audio/x-wav',
      }),
    );
    expect(copy.ETag).toBe(`"${md5(data)}"`);
    const head = ok(await client.getObjectMetadata({ Bucket, Key: `${Key}.copy` }));
    expect(head).toMatchObject({ Metadata: { origin: 'copied' }, ContentType: 'audio/x-wav' });

    const target = `${Key}.parts`;
    const id = ok(await client.initiateMultipartUpload({ Bucket, Key: target })).UploadId as string;
    const c1 = ok(await client.copyPart({
      Bucket, Key: target, UploadId: id, PartNumber: 1, CopySource: `${Bucket}/${Key}`, CopySourceRange: `bytes=0-${PART1 - 1}`,
    }));
    const c2 = ok(await client.copyPart({
      Bucket, Key: target, UploadId: id, PartNumber: 2, CopySource: `${Bucket}/${Key}`, CopySourceRange: `bytes=${PART1}-${data.length - 1}`,
    }));
    expect(c1.ETag).toBe(`"${md5(data.subarray(0, PART1))}"`);
    ok(await client.completeMultipartUpload({
      Bucket, Key: target, UploadId: id, Parts: [{ PartNumber: 1, ETag: c1.ETag }, { PartNumber: 2, ETag: c2.ETag }],
    }));
    const got = ok(await client.getObject({ Bucket, Key: target, SaveAsStream: true }));
    expect((await readAll(got.Content as Readable)).equals(data)).toBe(true);
  });

  it('aborts an upload (204) after which its parts are gone (NoSuchUpload)', async () => {
    const id = ok(await client.initiateMultipartUpload({ Bucket, Key: `${Key}.aborted` })).UploadId as string;
    ok(await client.uploadPart({ Bucket, Key: `${Key}.aborted`, UploadId: id, PartNumber: 1, SourceFile: file, Offset: 0, PartSize: 1000 }));
    const aborted = await client.abortMultipartUpload({ Bucket, Key: `${Key}.aborted`, UploadId: id });
    expect(aborted.CommonMsg.Status).toBe(204);
    const listed = await client.listParts({ Bucket, Key: `${Key}.aborted`, UploadId: id });
    expect([listed.CommonMsg.Status, listed.CommonMsg.Code]).toEqual([404, 'NoSuchUpload']);
    expect(listed.CommonMsg.Indicator ?? '').toMatch(mode === 'obs' ? /^[0-9A-F]{32}$/ : /^$/);
  });

  it('answers 403 SignatureDoesNotMatch to every call signed with a wrong secret', async () => {
    const bad = await esdk(mode, `${ds.obs.secretAccessKey}x`);
    const id = ok(await client.initiateMultipartUpload({ Bucket, Key: `${Key}.bad` })).UploadId as string;
    const calls: Array<[string, Promise<EsdkResult>]> = [
      ['initiateMultipartUpload', bad.initiateMultipartUpload({ Bucket, Key })],
      ['uploadPart', bad.uploadPart({ Bucket, Key: `${Key}.bad`, UploadId: id, PartNumber: 1, SourceFile: file, Offset: 0, PartSize: 1000 })],
      ['listParts', bad.listParts({ Bucket, Key: `${Key}.bad`, UploadId: id })],
      ['completeMultipartUpload', bad.completeMultipartUpload({ Bucket, Key: `${Key}.bad`, UploadId: id, Parts: [{ PartNumber: 1, ETag: '"x"' }] })],
      ['copyObject', bad.copyObject({ Bucket, Key: `${Key}.bad-copy`, CopySource: `${Bucket}/${Key}` })],
      ['copyPart', bad.copyPart({ Bucket, Key: `${Key}.bad`, UploadId: id, PartNumber: 1, CopySource: `${Bucket}/${Key}`, CopySourceRange: 'bytes=0-9' })],
      ['getObjectMetadata', bad.getObjectMetadata({ Bucket, Key })],
      ['getObject', bad.getObject({ Bucket, Key, SaveAsStream: true })],
      ['abortMultipartUpload', bad.abortMultipartUpload({ Bucket, Key: `${Key}.bad`, UploadId: id })],
    ];
    for (const [name, call] of calls) {
      const r = await call;
      expect([name, r.CommonMsg.Status, r.CommonMsg.Code]).toEqual([name, 403, 'SignatureDoesNotMatch']);
    }
    // The good client's upload survived every forged call.
    ok(await client.abortMultipartUpload({ Bucket, Key: `${Key}.bad`, UploadId: id }));
  });
});

describe('esdk results agree field by field with our ObsClient GetResult', () => {
  const Bucket = 'esdk-obs';
  let sdk: EsdkClient;
  let ours: OurObsClient;

  beforeAll(async () => {
    sdk = await esdk('obs');
    ours = new OurObsClient({
      endpoint: ds.obs.virtualHostedEndpoint,
      region: ds.obs.region,
      signature: 'obs',
      credentials: { accessKeyId: ds.obs.accessKeyId, secretAccessKey: ds.obs.secretAccessKey },
      maxAttempts: 1,
    });
  });

  afterAll(async () => {
    await ours?.close();
  });

  /** Our error record, whether the client returned it or threw it as `err.result`. */
  async function settle<B>(p: Promise<GetResult<B>>): Promise<GetResult<B>> {
    try {
      return await p;
    } catch (err) {
      const result = (err as { result?: GetResult<B> }).result;
      if (!result) throw err;
      return result;
    }
  }

  it('for initiate / upload part / list parts / complete / copy / head and an error', async () => {
    const a = 'agree/esdk.bin';
    const b = 'agree/ours.bin';
    const part1 = data.subarray(0, PART1);
    const part2 = data.subarray(PART1);

    const si = ok(await sdk.initiateMultipartUpload({ Bucket, Key: a, ContentType: 'audio/wav' }));
    const oi = await ours.initiateMultipartUpload({ bucket: Bucket, key: b, contentType: 'audio/wav' });
    expect(oi.status).toBe(200);
    expect(oi.body).toEqual({ bucket: si.Bucket, key: b, uploadId: expect.stringMatching(/^[0-9A-F]{32}$/) });
    const ourId = (oi.body as { uploadId: string }).uploadId;

    const se = [
      ok(await sdk.uploadPart({ Bucket, Key: a, UploadId: si.UploadId, PartNumber: 1, SourceFile: file, Offset: 0, PartSize: PART1 })).ETag,
      ok(await sdk.uploadPart({ Bucket, Key: a, UploadId: si.UploadId, PartNumber: 2, SourceFile: file, Offset: PART1, PartSize: part2.length })).ETag,
    ];
    const oe = [
      (await ours.uploadPart({ bucket: Bucket, key: b, uploadId: ourId, partNumber: 1, body: part1 })).body?.etag,
      (await ours.uploadPart({ bucket: Bucket, key: b, uploadId: ourId, partNumber: 2, body: part2 })).body?.etag,
    ];
    expect(oe).toEqual(se);

    const sl = ok(await sdk.listParts({ Bucket, Key: a, UploadId: si.UploadId }));
    const ol = await ours.listParts({ bucket: Bucket, key: b, uploadId: ourId });
    const sparts = sl.Parts as Array<Record<string, string>>;
    expect(ol.body?.parts.map((p) => ({ partNumber: p.partNumber, etag: p.etag, size: p.size }))).toEqual(
      sparts.map((p) => ({ partNumber: Number(p.PartNumber), etag: p.ETag, size: Number(p.Size) })),
    );
    expect(ol.body?.isTruncated).toBe(sl.IsTruncated === 'true');
    expect(ol.body?.maxParts).toBe(Number(sl.MaxParts));

    const sc = ok(await sdk.completeMultipartUpload({
      Bucket, Key: a, UploadId: si.UploadId, Parts: se.map((ETag, i) => ({ PartNumber: i + 1, ETag })),
    }));
    const oc = await ours.completeMultipartUpload({
      bucket: Bucket, key: b, uploadId: ourId, parts: oe.map((etag, i) => ({ partNumber: i + 1, etag: etag as string })),
    });
    expect(oc.body).toMatchObject({ bucket: sc.Bucket, etag: sc.ETag });
    expect(oc.body?.key).toBe(b);
    expect([oc.status, oc.errorCode]).toEqual([200, '']);

    const sh = ok(await sdk.getObjectMetadata({ Bucket, Key: a }));
    const oh = await ours.headObject({ bucket: Bucket, key: b });
    expect(oh.body).toMatchObject({
      contentLength: Number(sh.ContentLength),
      contentType: sh.ContentType,
      etag: sh.ETag,
      storageClass: (sh.StorageClass as string | undefined) ?? expect.any(String),
    });
    // Only our client reads OBS's marker of multipart objects.
    expect(oh.body?.uploadId).toBe(ourId);

    const sy = ok(await sdk.copyObject({ Bucket, Key: `${a}.copy`, CopySource: `${Bucket}/${a}` }));
    const oy = await ours.copyObject({ bucket: Bucket, key: `${b}.copy`, sourceBucket: Bucket, sourceKey: b });
    expect(oy.body?.etag).toBe(sy.ETag);
    expect(oy.body?.lastModified).toMatch(/^\d{4}-\d{2}-\d{2}T/);
    expect(typeof sy.LastModified).toBe('string');

    const sx = await sdk.listParts({ Bucket, Key: a, UploadId: si.UploadId });
    const ox = await settle(ours.listParts({ bucket: Bucket, key: b, uploadId: ourId }));
    expect({ status: ox.status, errorCode: ox.errorCode, errorMessage: ox.errorMessage }).toEqual({
      status: sx.CommonMsg.Status,
      errorCode: sx.CommonMsg.Code,
      errorMessage: sx.CommonMsg.Message,
    });
    expect(ox.requestId).toMatch(/^[0-9A-F]{32}$/);
    expect(sx.CommonMsg.RequestId).toMatch(/^[0-9A-F]{32}$/);
    expect(ox.indicator).toMatch(/^[0-9A-F]{32}$/);
    expect(sx.CommonMsg.Indicator).toMatch(/^[0-9A-F]{32}$/);
    expect(ox.hostId).not.toBe('');
    expect(sx.CommonMsg.HostId).not.toBe('');
    expect(ox.body).toBeNull();
  });
});
