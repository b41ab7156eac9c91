import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, open, readFile, readdir, rename, rm, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable, Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { coerceError } from '@obsq/shared';
import { S3Error } from '../errors/index.js';
import { KeyedMutex } from './keyedMutex.js';
import { assertBucketName, assertObjectKey } from './names.js';
import type { BucketMeta, ByteRange, ObjectAttributes, ObjectMeta, PartMeta, UploadMeta } from './types.js';

/** Limits checked while a body streams in. */
export interface WriteLimits {
  /** Reject with `EntityTooLarge` past this many bytes. */
  maxBytes?: number;
  /** Base64 Content-MD5 to check (`BadDigest` on mismatch). */
  contentMd5?: string;
  /** Hex SHA-256 to check (`XAmzContentSHA256Mismatch` on mismatch). */
  sha256?: string;
  /** Exact byte count expected (`IncompleteBody` when fewer arrive). */
  length?: number;
}

/** One page of ListObjects. */
export interface ListObjectsPage {
  contents: ObjectMeta[];
  commonPrefixes: string[];
  isTruncated: boolean;
  /** Last key or common prefix returned (the V1 NextMarker / V2 continuation point). */
  last?: string;
}

/** One page of ListParts. */
export interface ListPartsPage {
  upload: UploadMeta;
  parts: PartMeta[];
  isTruncated: boolean;
  nextPartNumberMarker: number;
}

/** Part reference in a CompleteMultipartUpload body. */
export interface CompletePart {
  partNumber: number;
  etag: string;
}

/** Snapshot of an object together with a stream of (a range of) its bytes. */
export interface OpenedObject {
  meta: ObjectMeta;
  range?: ByteRange;
  stream: Readable;
}

interface BucketState {
  meta: BucketMeta;
  objects: Map<string, ObjectMeta>;
}

interface UploadState {
  meta: UploadMeta;
  parts: Map<number, PartMeta>;
}

interface WrittenTemp {
  path: string;
  size: number;
  md5: Buffer;
}

/** Counts bytes and feeds hashes while data passes through; enforces {@link WriteLimits}. */
class Digester extends Transform {
  size = 0;
  readonly md5 = createHash('md5');
  readonly sha256: ReturnType<typeof createHash> | undefined;

  constructor(private readonly limits: WriteLimits) {
    super();
    this.sha256 = limits.sha256 ? createHash('sha256') : undefined;
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.size += chunk.length;
    if (this.limits.maxBytes !== undefined && this.size > this.limits.maxBytes) {
      cb(new S3Error('EntityTooLarge'));
      return;
    }
    this.md5.update(chunk);
    this.sha256?.update(chunk);
    cb(null, chunk);
  }
}

const newVersionId = () => randomBytes(16).toString('hex').toUpperCase();
const keyHash = (key: string) => createHash('sha256').update(key, 'utf8').digest('hex');
const isEnoent = (err: unknown) => (err as { code?: unknown }).code === 'ENOENT';

/**
 * Disk-backed bucket/object/multipart store. Bodies stream to a temp file (hashed on the way)
 * and are renamed into place; metadata JSON is written beside the data the same way. An
 * in-memory index, rebuilt from disk on open, answers lookups and listings.
 *
 * Layout: `tmp/`, `buckets/<b>/bucket.json`, `buckets/<b>/objects/<sha256(key)>.json` and
 * `<sha256(key)>.<uuid>.data`, `uploads/<uploadId>/upload.json`, `part-<n>.json`, `part-<n>.<uuid>.data`.
 */
export class FileStore {
  private readonly buckets = new Map<string, BucketState>();
  private readonly uploads = new Map<string, UploadState>();
  private readonly locks = new KeyedMutex();

  private constructor(readonly root: string) {}

  /** Opens (creating if needed) a store rooted at `root` and loads its index. */
  static async open(root: string): Promise<FileStore> {
    const store = new FileStore(root);
    await rm(join(root, 'tmp'), { recursive: true, force: true });
    await mkdir(join(root, 'tmp'), { recursive: true });
    await mkdir(join(root, 'buckets'), { recursive: true });
    await mkdir(join(root, 'uploads'), { recursive: true });
    await store.load();
    return store;
  }

  // ---------------------------------------------------------------- buckets

  /** Creates a bucket; `false` when it already existed (OBS treats that as success). */
  async createBucket(name: string): Promise<boolean> {
    assertBucketName(name);
    return this.locks.run(`bucket:${name}`, async () => {
      if (this.buckets.has(name)) return false;
      const meta: BucketMeta = { name, created: new Date().toISOString() };
      await mkdir(join(this.bucketDir(name), 'objects'), { recursive: true });
      await this.writeJson(join(this.bucketDir(name), 'bucket.json'), meta);
      this.buckets.set(name, { meta, objects: new Map() });
      return true;
    });
  }

  /** Deletes an empty bucket (`BucketNotEmpty` when objects or uploads remain). */
  async deleteBucket(name: string): Promise<void> {
    await this.locks.run(`bucket:${name}`, async () => {
      const b = this.bucket(name);
      if (b.objects.size > 0 || [...this.uploads.values()].some((u) => u.meta.bucket === name)) {
        throw new S3Error('BucketNotEmpty');
      }
      this.buckets.delete(name);
      await rm(this.bucketDir(name), { recursive: true, force: true });
    });
  }

  /** The bucket's metadata; throws `NoSuchBucket`. */
  headBucket(name: string): BucketMeta {
    return this.bucket(name).meta;
  }

  /** All buckets, by name. */
  listBuckets(): BucketMeta[] {
    return [...this.buckets.values()].map((b) => b.meta).sort((a, b) => a.name.localeCompare(b.name));
  }

  // ---------------------------------------------------------------- objects

  /**
   * Current metadata of an object; throws `NoSuchBucket` / `NoSuchKey`, or `NoSuchVersion` when
   * `versionId` is given and is neither the current version nor `null`.
   */
  headObject(bucket: string, key: string, versionId?: string): ObjectMeta {
    const meta = this.bucket(bucket).objects.get(key);
    if (!meta) throw new S3Error('NoSuchKey');
    if (versionId !== undefined && versionId !== 'null' && versionId !== meta.versionId) {
      throw new S3Error('NoSuchVersion');
    }
    return meta;
  }

  /**
   * Opens an object for reading. `pickRange` sees the snapshot's metadata and returns the byte
   * range to read (or undefined for all); it may throw to refuse (e.g. a failed precondition).
   */
  async openObject(
    bucket: string,
    key: string,
    opts: { versionId?: string; pickRange?: (meta: ObjectMeta) => ByteRange | undefined } = {},
  ): Promise<OpenedObject> {
    // The data file of a snapshot can be unlinked by a concurrent overwrite between the lookup
    // and the open; take a fresh snapshot then. Once open, the fd keeps the old bytes readable.
    for (let attempt = 0; ; attempt++) {
      const meta = this.headObject(bucket, key, opts.versionId);
      const range = opts.pickRange?.(meta);
      try {
        const fh = await open(join(this.bucketDir(bucket), 'objects', meta.dataFile), 'r');
        const stream = fh.createReadStream(range ? { start: range.start, end: range.end } : {});
        return { meta, stream, ...(range ? { range } : {}) };
      } catch (err) {
        if (!isEnoent(err) || attempt >= 3) throw err;
      }
    }
  }

  /** Streams `body` into a new object (replacing any old one) and returns its metadata. */
  async putObject(
    bucket: string,
    key: string,
    body: Readable,
    attributes: ObjectAttributes,
    limits: WriteLimits = {},
  ): Promise<ObjectMeta> {
    this.bucket(bucket);
    assertObjectKey(key);
    const temp = await this.writeTemp([body], limits);
    return this.commitObject(bucket, key, temp, attributes, temp.md5.toString('hex'));
  }

  /**
   * Server-side copy. `check` runs on the source snapshot before any byte moves (preconditions,
   * size limit); `attributes` undefined means metadata directive COPY.
   */
  async copyObject(
    src: { bucket: string; key: string; versionId?: string },
    dst: { bucket: string; key: string },
    attributes: ObjectAttributes | undefined,
    check: (source: ObjectMeta) => void,
  ): Promise<{ meta: ObjectMeta; source: ObjectMeta }> {
    this.bucket(dst.bucket);
    assertObjectKey(dst.key);
    const opened = await this.openObject(src.bucket, src.key, {
      ...(src.versionId !== undefined ? { versionId: src.versionId } : {}),
      pickRange: (m) => {
        check(m);
        return undefined;
      },
    });
    const temp = await this.writeTemp([opened.stream]);
    const attrs = attributes ?? pickAttributes(opened.meta);
    const meta = await this.commitObject(dst.bucket, dst.key, temp, attrs, temp.md5.toString('hex'));
    return { meta, source: opened.meta };
  }

  /** Deletes an object; deleting a missing key succeeds (S3/OBS semantics). */
  async deleteObject(bucket: string, key: string): Promise<void> {
    const b = this.bucket(bucket);
    await this.locks.run(`object:${bucket}/${key}`, async () => {
      const meta = b.objects.get(key);
      if (!meta) return;
      b.objects.delete(key);
      const dir = join(this.bucketDir(bucket), 'objects');
      await rm(join(dir, `${keyHash(key)}.json`), { force: true });
      await rm(join(dir, meta.dataFile), { force: true });
    });
  }

  /** One page of keys in lexicographic (UTF-16 code unit) order, grouped by `delimiter`. */
  listObjects(
    bucket: string,
    opts: { prefix?: string; delimiter?: string; after?: string; maxKeys: number },
  ): ListObjectsPage {
    const b = this.bucket(bucket);
    const prefix = opts.prefix ?? '';
    const after = opts.after ?? '';
    const keys = [...b.objects.keys()].filter((k) => k.startsWith(prefix) && compareKeys(k, after) > 0).sort(compareKeys);
    const page: ListObjectsPage = { contents: [], commonPrefixes: [], isTruncated: false };
    let lastPrefix: string | undefined;
    let count = 0;
    for (const key of keys) {
      let commonPrefix: string | undefined;
      if (opts.delimiter) {
        const idx = key.indexOf(opts.delimiter, prefix.length);
        if (idx >= 0) commonPrefix = key.slice(0, idx + opts.delimiter.length);
      }
      if (commonPrefix !== undefined) {
        // Resuming after a marker that is itself a common prefix must not repeat it.
        if (commonPrefix === lastPrefix || after.startsWith(commonPrefix)) continue;
      }
      if (count >= opts.maxKeys) {
        page.isTruncated = true;
        break;
      }
      count++;
      if (commonPrefix !== undefined) {
        page.commonPrefixes.push(commonPrefix);
        lastPrefix = commonPrefix;
        page.last = commonPrefix;
      } else {
        page.contents.push(b.objects.get(key) as ObjectMeta);
        page.last = key;
      }
    }
    return page;
  }

  // ---------------------------------------------------------------- multipart

  /** Starts a multipart upload; the attributes are applied to the object at Complete. */
  async initiateUpload(bucket: string, key: string, attributes: ObjectAttributes): Promise<UploadMeta> {
    this.bucket(bucket);
    assertObjectKey(key);
    const meta: UploadMeta = {
      uploadId: randomBytes(16).toString('hex').toUpperCase(),
      bucket,
      key,
      initiated: new Date().toISOString(),
      attributes,
    };
    await mkdir(this.uploadDir(meta.uploadId), { recursive: true });
    await this.writeJson(join(this.uploadDir(meta.uploadId), 'upload.json'), meta);
    this.uploads.set(meta.uploadId, { meta, parts: new Map() });
    return meta;
  }

  /** The upload, checked against bucket and key; throws `NoSuchBucket` / `NoSuchUpload`. */
  getUpload(bucket: string, key: string, uploadId: string): UploadMeta {
    return this.upload(bucket, key, uploadId).meta;
  }

  /** Streams one part (replacing an earlier part with the same number: last write wins). */
  async uploadPart(
    bucket: string,
    key: string,
    uploadId: string,
    partNumber: number,
    body: Readable,
    limits: WriteLimits = {},
  ): Promise<PartMeta> {
    this.upload(bucket, key, uploadId);
    const temp = await this.writeTemp([body], limits);
    return this.commitPart(bucket, key, uploadId, partNumber, temp);
  }

  /** Copies a byte range of an existing object into a part. */
  async uploadPartCopy(
    dst: { bucket: string; key: string; uploadId: string; partNumber: number },
    src: { bucket: string; key: string; versionId?: string },
    pick: (source: ObjectMeta) => ByteRange | undefined,
  ): Promise<{ part: PartMeta; source: ObjectMeta }> {
    this.upload(dst.bucket, dst.key, dst.uploadId);
    const opened = await this.openObject(src.bucket, src.key, {
      ...(src.versionId !== undefined ? { versionId: src.versionId } : {}),
      pickRange: pick,
    });
    const temp = await this.writeTemp([opened.stream]);
    const part = await this.commitPart(dst.bucket, dst.key, dst.uploadId, dst.partNumber, temp);
    return { part, source: opened.meta };
  }

  /** One page of parts, ascending, after `marker`. */
  listParts(bucket: string, key: string, uploadId: string, opts: { marker: number; maxParts: number }): ListPartsPage {
    const u = this.upload(bucket, key, uploadId);
    const all = [...u.parts.values()].filter((p) => p.partNumber > opts.marker).sort((a, b) => a.partNumber - b.partNumber);
    const parts = all.slice(0, opts.maxParts);
    return {
      upload: u.meta,
      parts,
      isTruncated: all.length > parts.length,
      nextPartNumberMarker: parts.at(-1)?.partNumber ?? 0,
    };
  }

  /** Uploads in a bucket (ListMultipartUploads), ordered by key then initiation. */
  listUploads(bucket: string, prefix = ''): UploadMeta[] {
    this.bucket(bucket);
    return [...this.uploads.values()]
      .map((u) => u.meta)
      .filter((u) => u.bucket === bucket && u.key.startsWith(prefix))
      .sort((a, b) => compareKeys(a.key, b.key) || a.initiated.localeCompare(b.initiated));
  }

  /**
   * Checks the part list (ascending → else `InvalidPartOrder`; each listed part exists with that
   * ETag → else `InvalidPart`; every part but the last at least `minPartSize` → else
   * `EntityTooSmall`), concatenates the parts into the object and drops the upload.
   */
  async completeUpload(
    bucket: string,
    key: string,
    uploadId: string,
    list: CompletePart[],
    minPartSize: number,
  ): Promise<ObjectMeta> {
    this.upload(bucket, key, uploadId);
    return this.locks.run(`upload:${uploadId}`, async () => {
      // Re-check inside the lock: a concurrent Complete or Abort may have finished meanwhile.
      const u = this.upload(bucket, key, uploadId);
      if (list.length === 0) throw new S3Error('MalformedXML', 'You must specify at least one part.');
      list.forEach((ref, i) => {
        if (i > 0 && ref.partNumber <= (list[i - 1] as CompletePart).partNumber) throw new S3Error('InvalidPartOrder');
      });
      const chosen: PartMeta[] = [];
      for (const ref of list) {
        const part = u.parts.get(ref.partNumber);
        if (!part || normaliseEtag(ref.etag) !== part.etag) {
          throw new S3Error('InvalidPart', undefined, { extra: { PartNumber: String(ref.partNumber), ETag: ref.etag } });
        }
        chosen.push(part);
      }
      chosen.forEach((part, i) => {
        if (i < chosen.length - 1 && part.size < minPartSize) {
          throw new S3Error('EntityTooSmall', undefined, {
            extra: {
              ProposedSize: String(part.size),
              MinSizeAllowed: String(minPartSize),
              PartNumber: String(part.partNumber),
              ETag: `"${part.etag}"`,
            },
          });
        }
      });
      const temp = await this.concatParts(uploadId, chosen);
      const md5s = Buffer.concat(chosen.map((p) => Buffer.from(p.etag, 'hex')));
      const etag = `${createHash('md5').update(md5s).digest('hex')}-${chosen.length}`;
      const meta = await this.commitObject(bucket, key, temp, u.meta.attributes, etag, uploadId);
      this.uploads.delete(uploadId);
      await rm(this.uploadDir(uploadId), { recursive: true, force: true });
      return meta;
    });
  }

  /** Drops an upload and its parts; throws `NoSuchUpload` when it is gone. */
  async abortUpload(bucket: string, key: string, uploadId: string): Promise<void> {
    this.upload(bucket, key, uploadId);
    await this.locks.run(`upload:${uploadId}`, async () => {
      this.upload(bucket, key, uploadId);
      this.uploads.delete(uploadId);
      await rm(this.uploadDir(uploadId), { recursive: true, force: true });
    });
  }

  // ---------------------------------------------------------------- internals

  private bucket(name: string): BucketState {
    const b = this.buckets.get(name);
    if (!b) throw new S3Error('NoSuchBucket');
    return b;
  }

  private upload(bucket: string, key: string, uploadId: string): UploadState {
    this.bucket(bucket);
    const u = this.uploads.get(uploadId);
    if (!u || u.meta.bucket !== bucket || u.meta.key !== key) throw new S3Error('NoSuchUpload');
    return u;
  }

  private bucketDir(name: string): string {
    return join(this.root, 'buckets', name);
  }

  private uploadDir(uploadId: string): string {
    if (!/^[0-9A-F]{32}$/.test(uploadId)) throw new S3Error('NoSuchUpload');
    return join(this.root, 'uploads', uploadId);
  }

  private tempPath(): string {
    return join(this.root, 'tmp', randomUUID());
  }

  /** Streams the sources, one after another, into a temp file; removes it on any failure. */
  private async writeTemp(sources: Readable[], limits: WriteLimits = {}): Promise<WrittenTemp> {
    const path = this.tempPath();
    const digester = new Digester(limits);
    const out = createWriteStream(path, { flags: 'wx' });
    try {
      const source =
        sources.length === 1
          ? (sources[0] as Readable)
          : Readable.from(
              (async function* concat() {
                for (const src of sources) yield* src;
              })(),
              { objectMode: false },
            );
      await pipeline(source, digester, out);
      const md5 = digester.md5.digest();
      if (limits.length !== undefined && digester.size !== limits.length) throw new S3Error('IncompleteBody');
      if (limits.contentMd5 !== undefined && md5.toString('base64') !== limits.contentMd5) throw new S3Error('BadDigest');
      if (limits.sha256 !== undefined && digester.sha256?.digest('hex') !== limits.sha256.toLowerCase()) {
        throw new S3Error('XAmzContentSHA256Mismatch');
      }
      return { path, size: digester.size, md5 };
    } catch (err) {
      out.destroy();
      for (const src of sources) src.destroy();
      await rm(path, { force: true });
      throw err;
    }
  }

  private async concatParts(uploadId: string, parts: PartMeta[]): Promise<WrittenTemp> {
    const dir = this.uploadDir(uploadId);
    const streams = parts.map((p) => createReadStream(join(dir, p.dataFile)));
    // Streams open lazily; destroy the ones never piped if an earlier one fails.
    try {
      return await this.writeTemp(streams);
    } finally {
      for (const s of streams) s.destroy();
    }
  }

  private async commitObject(
    bucket: string,
    key: string,
    temp: WrittenTemp,
    attributes: ObjectAttributes,
    etag: string,
    uploadId?: string,
  ): Promise<ObjectMeta> {
    return this.locks.run(`object:${bucket}/${key}`, async () => {
      let b: BucketState;
      try {
        b = this.bucket(bucket);
      } catch (err) {
        await rm(temp.path, { force: true });
        throw err;
      }
      const hash = keyHash(key);
      const dir = join(this.bucketDir(bucket), 'objects');
      const meta: ObjectMeta = {
        bucket,
        key,
        size: temp.size,
        etag,
        lastModified: new Date().toISOString(),
        versionId: newVersionId(),
        ...(uploadId ? { uploadId } : {}),
        dataFile: `${hash}.${randomUUID()}.data`,
        contentType: attributes.contentType,
        metadata: attributes.metadata,
        headers: attributes.headers,
        storageClass: attributes.storageClass,
      };
      await rename(temp.path, join(dir, meta.dataFile));
      await this.writeJson(join(dir, `${hash}.json`), meta);
      const old = b.objects.get(key);
      b.objects.set(key, meta);
      if (old) await rm(join(dir, old.dataFile), { force: true });
      return meta;
    });
  }

  private async commitPart(
    bucket: string,
    key: string,
    uploadId: string,
    partNumber: number,
    temp: WrittenTemp,
  ): Promise<PartMeta> {
    return this.locks.run(`upload:${uploadId}`, async () => {
      let u: UploadState;
      try {
        u = this.upload(bucket, key, uploadId);
      } catch (err) {
        // Aborted or completed while the body streamed in.
        await rm(temp.path, { force: true });
        throw err;
      }
      const dir = this.uploadDir(uploadId);
      const part: PartMeta = {
        partNumber,
        etag: temp.md5.toString('hex'),
        size: temp.size,
        lastModified: new Date().toISOString(),
        dataFile: `part-${partNumber}.${randomUUID()}.data`,
      };
      await rename(temp.path, join(dir, part.dataFile));
      await this.writeJson(join(dir, `part-${partNumber}.json`), part);
      const old = u.parts.get(partNumber);
      u.parts.set(partNumber, part);
      if (old) await rm(join(dir, old.dataFile), { force: true });
      return part;
    });
  }

  /** Writes JSON atomically (temp file + rename). */
  private async writeJson(path: string, value: unknown): Promise<void> {
    const tmp = this.tempPath();
    await writeFile(tmp, JSON.stringify(value));
    await rename(tmp, path);
  }

  private async load(): Promise<void> {
    for (const name of await readdir(join(this.root, 'buckets'))) {
      const dir = this.bucketDir(name);
      let meta: BucketMeta;
      try {
        meta = JSON.parse(await readFile(join(dir, 'bucket.json'), 'utf8')) as BucketMeta;
      } catch {
        continue; // half-created bucket: ignore
      }
      const state: BucketState = { meta, objects: new Map() };
      const files = await readdir(join(dir, 'objects')).catch(() => [] as string[]);
      const live = new Set<string>();
      for (const f of files.filter((f) => f.endsWith('.json'))) {
        const obj = JSON.parse(await readFile(join(dir, 'objects', f), 'utf8')) as ObjectMeta;
        state.objects.set(obj.key, obj);
        live.add(obj.dataFile);
      }
      // Data files not referenced by any metadata are leftovers of interrupted writes.
      for (const f of files.filter((f) => f.endsWith('.data') && !live.has(f))) {
        await unlink(join(dir, 'objects', f)).catch(() => undefined);
      }
      this.buckets.set(name, state);
    }
    for (const id of await readdir(join(this.root, 'uploads'))) {
      try {
        const dir = join(this.root, 'uploads', id);
        const meta = JSON.parse(await readFile(join(dir, 'upload.json'), 'utf8')) as UploadMeta;
        const state: UploadState = { meta, parts: new Map() };
        for (const f of (await readdir(dir)).filter((f) => /^part-\d+\.json$/.test(f))) {
          const part = JSON.parse(await readFile(join(dir, f), 'utf8')) as PartMeta;
          state.parts.set(part.partNumber, part);
        }
        this.uploads.set(id, state);
      } catch (err) {
        throw new S3Error('InternalError', `cannot load upload ${id}`, { cause: coerceError(err) });
      }
    }
  }
}

/**
 * Strips quotes and lower-cases an ETag as sent in a Complete body (references already decoded
 * by the XML reader) or an If-Match header.
 */
export function normaliseEtag(etag: string): string {
  return etag.trim().replace(/^"(.*)"$/, '$1').toLowerCase();
}

/** Keys sort by UTF-8 bytes, as S3 lists them. */
export function compareKeys(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

function pickAttributes(meta: ObjectMeta): ObjectAttributes {
  return {
    contentType: meta.contentType,
    metadata: { ...meta.metadata },
    headers: { ...meta.headers },
    storageClass: meta.storageClass,
  };
}
