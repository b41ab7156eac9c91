import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FileStore } from './fileStore.js';
import type { ObjectAttributes } from './types.js';

const attrs: ObjectAttributes = { contentType: 'text/plain', metadata: { a: '1' }, headers: {}, storageClass: 'STANDARD' };
const md5 = (b: Buffer) => createHash('md5').update(b).digest('hex');

async function read(store: FileStore, bucket: string, key: string): Promise<Buffer> {
  const { stream } = await store.openObject(bucket, key);
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

let dir: string;
let store: FileStore;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'obsq-filestore-'));
  store = await FileStore.open(dir);
  await store.createBucket('bkt');
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('FileStore', () => {
  it('stores, overwrites and deletes objects, leaving no temp or orphan data files', async () => {
    const one = await store.putObject('bkt', 'k', Readable.from([Buffer.from('first')]), attrs);
    expect(one.etag).toBe(md5(Buffer.from('first')));
    await store.putObject('bkt', 'k', Readable.from([Buffer.from('second!')]), attrs);
    expect((await read(store, 'bkt', 'k')).toString()).toBe('second!');
    const files = await readdir(join(dir, 'buckets', 'bkt', 'objects'));
    expect(files.filter((f) => f.endsWith('.data'))).toHaveLength(1);
    expect(await readdir(join(dir, 'tmp'))).toEqual([]);
    await store.deleteObject('bkt', 'k');
    expect(() => store.headObject('bkt', 'k')).toThrow(expect.objectContaining({ s3Code: 'NoSuchKey' }));
  });

  it('checks Content-MD5, length and the size limit, and keeps nothing from a failed write', async () => {
    const body = Buffer.from('payload');
    await expect(
      store.putObject('bkt', 'bad', Readable.from([body]), attrs, { contentMd5: Buffer.alloc(16).toString('base64') }),
    ).rejects.toMatchObject({ s3Code: 'BadDigest' });
    await expect(store.putObject('bkt', 'bad', Readable.from([body]), attrs, { length: 100 })).rejects.toMatchObject({
      s3Code: 'IncompleteBody',
    });
    await expect(store.putObject('bkt', 'bad', Readable.from([body]), attrs, { maxBytes: 3 })).rejects.toMatchObject({
      s3Code: 'EntityTooLarge',
    });
    expect(() => store.headObject('bkt', 'bad')).toThrow();
    expect(await readdir(join(dir, 'tmp'))).toEqual([]);
  });

  it('lists with prefix, delimiter and paging without repeating common prefixes', async () => {
    for (const k of ['a/1', 'a/2', 'a/3', 'b', 'c/1', 'd']) await store.putObject('bkt', k, Readable.from([Buffer.from(k)]), attrs);
    const seen: string[] = [];
    let after: string | undefined;
    for (;;) {
      const page = store.listObjects('bkt', { delimiter: '/', maxKeys: 1, ...(after ? { after } : {}) });
      seen.push(...page.commonPrefixes, ...page.contents.map((c) => c.key));
      if (!page.isTruncated) break;
      after = page.last;
    }
    expect(seen).toEqual(['a/', 'b', 'c/', 'd']);
    expect(store.listObjects('bkt', { prefix: 'a/', maxKeys: 1000 }).contents.map((c) => c.key)).toEqual(['a/1', 'a/2', 'a/3']);
  });

  it('completes multipart uploads with S3 ETags and enforces the part rules', async () => {
    const u = await store.initiateUpload('bkt', 'mp', attrs);
    const p1 = randomBytes(2000);
    const p2 = randomBytes(500);
    const e1 = await store.uploadPart('bkt', 'mp', u.uploadId, 1, Readable.from([p1]));
    const e2 = await store.uploadPart('bkt', 'mp', u.uploadId, 2, Readable.from([p2]));
    await expect(store.completeUpload('bkt', 'mp', u.uploadId, [{ partNumber: 1, etag: e1.etag }, { partNumber: 1, etag: e1.etag }], 0))
      .rejects.toMatchObject({ s3Code: 'InvalidPartOrder' });
    await expect(store.completeUpload('bkt', 'mp', u.uploadId, [{ partNumber: 1, etag: e2.etag }], 0)).rejects.toMatchObject({
      s3Code: 'InvalidPart',
    });
    await expect(
      store.completeUpload('bkt', 'mp', u.uploadId, [{ partNumber: 1, etag: e1.etag }, { partNumber: 2, etag: e2.etag }], 2001),
    ).rejects.toMatchObject({ s3Code: 'EntityTooSmall' });
    const meta = await store.completeUpload(
      'bkt', 'mp', u.uploadId, [{ partNumber: 1, etag: `"${e1.etag}"` }, { partNumber: 2, etag: e2.etag.toUpperCase() }], 2000,
    );
    expect(meta.etag).toBe(`${md5(Buffer.concat([Buffer.from(e1.etag, 'hex'), Buffer.from(e2.etag, 'hex')]))}-2`);
    expect(meta.uploadId).toBe(u.uploadId);
    expect(meta.metadata).toEqual({ a: '1' });
    expect((await read(store, 'bkt', 'mp')).equals(Buffer.concat([p1, p2]))).toBe(true);
    await expect(store.completeUpload('bkt', 'mp', u.uploadId, [{ partNumber: 1, etag: e1.etag }], 0)).rejects.toMatchObject({
      s3Code: 'NoSuchUpload',
    });
    expect(await readdir(join(dir, 'uploads'))).toEqual([]);
  });

  it('serialises concurrent completes: one wins, the other sees NoSuchUpload', async () => {
    const u = await store.initiateUpload('bkt', 'race', attrs);
    const e = await store.uploadPart('bkt', 'race', u.uploadId, 1, Readable.from([randomBytes(100)]));
    const results = await Promise.allSettled([
      store.completeUpload('bkt', 'race', u.uploadId, [{ partNumber: 1, etag: e.etag }], 0),
      store.completeUpload('bkt', 'race', u.uploadId, [{ partNumber: 1, etag: e.etag }], 0),
    ]);
    expect(results.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected']);
    const rejected = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    expect(rejected.reason).toMatchObject({ s3Code: 'NoSuchUpload' });
  });

  it('reloads buckets, objects and open uploads from disk', async () => {
    await store.putObject('bkt', 'kept', Readable.from([Buffer.from('kept')]), attrs);
    const u = await store.initiateUpload('bkt', 'open', attrs);
    await store.uploadPart('bkt', 'open', u.uploadId, 3, Readable.from([Buffer.from('part')]));
    const again = await FileStore.open(dir);
    expect((await read(again, 'bkt', 'kept')).toString()).toBe('kept');
    expect(again.listParts('bkt', 'open', u.uploadId, { marker: 0, maxParts: 10 }).parts.map((p) => p.partNumber)).toEqual([3]);
  });

  it('refuses bad bucket names and over-long keys', async () => {
    for (const name of ['ab', 'Upper', 'a..b', 'a.-b', '-ab', '192.168.1.1', 'a_b']) {
      await expect(store.createBucket(name)).rejects.toMatchObject({ s3Code: 'InvalidBucketName' });
    }
    await expect(store.putObject('bkt', 'é'.repeat(513), Readable.from([]), attrs)).rejects.toMatchObject({ s3Code: 'KeyTooLongError' });
  });
});
