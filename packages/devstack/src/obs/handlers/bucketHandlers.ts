import { S3Error } from '../../errors/index.js';
import { compareKeys, type ObjectMeta } from '../../storage/index.js';
import { sendEmpty, sendXml } from '../responses.js';
import type { RequestContext } from '../requestContext.js';
import { parseRequestXml, readXmlBody } from '../requestXml.js';
import type { XmlNode } from '../xml.js';
import type { Handler } from './handlerEnv.js';
import { quoted } from './objectHelpers.js';

/** Owner id shown in listings; devstack has a single account. */
export const OWNER_ID = 'devstack-owner';

const owner = (): XmlNode => ['Owner', [['ID', OWNER_ID], ['DisplayName', OWNER_ID]]];

function bucketOf(ctx: RequestContext): string {
  return ctx.address.bucket as string;
}

/** Reads max-keys / max-parts style parameters: integer in [0, cap], default `def`. */
export function intParam(ctx: RequestContext, name: string, def: number, cap: number, min = 0): number {
  const raw = ctx.q(name);
  if (raw === undefined || raw === '') return def;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min) throw new S3Error('InvalidArgument', `Argument ${name} must be an integer >= ${min}.`);
  return Math.min(n, cap);
}

function encodeIf(ctx: RequestContext, value: string): string {
  return ctx.q('encoding-type') === 'url' ? encodeURIComponent(value).replace(/%2F/g, '/') : value;
}

/** `HEAD /?apiversion` (esdk signature negotiation): answers `x-obs-api: 3.0`, no auth needed. */
export const getApiVersion: Handler = async (ctx, { store }) => {
  if (ctx.address.bucket !== undefined) store.headBucket(ctx.address.bucket);
  sendEmpty(ctx, 200, { 'x-obs-api': '3.0' });
};

export const listBuckets: Handler = async (ctx, { store }) => {
  sendXml(ctx, 200, 'ListAllMyBucketsResult', [
    owner(),
    ['Buckets', store.listBuckets().map((b): XmlNode => ['Bucket', [['Name', b.name], ['CreationDate', b.created]]])],
  ]);
};

export const createBucket: Handler = async (ctx, { store, auth }) => {
  // The optional CreateBucketConfiguration (location) body must be well-formed, as S3 requires;
  // its location is not checked: devstack serves one region.
  const body = await readXmlBody(ctx, auth, 64 * 1024);
  if (body.toString('utf8').trim() !== '') parseRequestXml(body, 'CreateBucketConfiguration');
  await store.createBucket(bucketOf(ctx));
  sendEmpty(ctx, 200, { location: `/${bucketOf(ctx)}` });
};

export const deleteBucket: Handler = async (ctx, { store }) => {
  await store.deleteBucket(bucketOf(ctx));
  sendEmpty(ctx, 204);
};

export const headBucket: Handler = async (ctx, { store, region }) => {
  store.headBucket(bucketOf(ctx));
  sendEmpty(
    ctx,
    200,
    ctx.dialect === 'obs'
      ? { 'x-obs-bucket-location': region, 'x-obs-storage-class': 'STANDARD', 'x-obs-version': '3.0' }
      : { 'x-amz-bucket-region': region },
  );
};

export const getBucketLocation: Handler = async (ctx, { store, region }) => {
  store.headBucket(bucketOf(ctx));
  sendXml(ctx, 200, ctx.dialect === 'obs' ? 'CreateBucketConfiguration' : 'LocationConstraint', [
    ctx.dialect === 'obs' ? ['Location', region] : undefined,
  ]);
};

function contents(ctx: RequestContext, metas: ObjectMeta[], withOwner: boolean): XmlNode[] {
  return metas.map((m): XmlNode => [
    'Contents',
    [
      ['Key', encodeIf(ctx, m.key)],
      ['LastModified', m.lastModified],
      ['ETag', quoted(m.etag)],
      ['Size', m.size],
      withOwner ? owner() : undefined,
      ['StorageClass', m.storageClass],
    ],
  ]);
}

export const listObjects: Handler = async (ctx, { store }) => {
  const bucket = bucketOf(ctx);
  const prefix = ctx.q('prefix') ?? '';
  const delimiter = ctx.q('delimiter') || undefined;
  const marker = ctx.q('marker') ?? '';
  const maxKeys = intParam(ctx, 'max-keys', 1000, 1000);
  const page = store.listObjects(bucket, { prefix, after: marker, maxKeys, ...(delimiter ? { delimiter } : {}) });
  sendXml(ctx, 200, 'ListBucketResult', [
    ['Name', bucket],
    ['Prefix', encodeIf(ctx, prefix)],
    ['Marker', encodeIf(ctx, marker)],
    page.isTruncated && page.last !== undefined ? ['NextMarker', encodeIf(ctx, page.last)] : undefined,
    ['MaxKeys', maxKeys],
    delimiter ? ['Delimiter', encodeIf(ctx, delimiter)] : undefined,
    ctx.q('encoding-type') === 'url' ? ['EncodingType', 'url'] : undefined,
    ['IsTruncated', page.isTruncated],
    ...contents(ctx, page.contents, true),
    ...page.commonPrefixes.map((p): XmlNode => ['CommonPrefixes', [['Prefix', encodeIf(ctx, p)]]]),
  ]);
};

export const listObjectsV2: Handler = async (ctx, { store }) => {
  const bucket = bucketOf(ctx);
  const prefix = ctx.q('prefix') ?? '';
  const delimiter = ctx.q('delimiter') || undefined;
  const token = ctx.q('continuation-token');
  const startAfter = ctx.q('start-after');
  const maxKeys = intParam(ctx, 'max-keys', 1000, 1000);
  let after = startAfter ?? '';
  if (token !== undefined) {
    after = Buffer.from(token, 'base64url').toString('utf8');
    if (!token || Buffer.from(after, 'utf8').toString('base64url') !== token) {
      throw new S3Error('InvalidArgument', 'The continuation token provided is incorrect');
    }
  }
  const page = store.listObjects(bucket, { prefix, after, maxKeys, ...(delimiter ? { delimiter } : {}) });
  sendXml(ctx, 200, 'ListBucketResult', [
    ['Name', bucket],
    ['Prefix', encodeIf(ctx, prefix)],
    token !== undefined ? ['ContinuationToken', token] : undefined,
    startAfter !== undefined ? ['StartAfter', encodeIf(ctx, startAfter)] : undefined,
    page.isTruncated && page.last !== undefined
      ? ['NextContinuationToken', Buffer.from(page.last, 'utf8').toString('base64url')]
      : undefined,
    ['KeyCount', page.contents.length + page.commonPrefixes.length],
    ['MaxKeys', maxKeys],
    delimiter ? ['Delimiter', encodeIf(ctx, delimiter)] : undefined,
    ctx.q('encoding-type') === 'url' ? ['EncodingType', 'url'] : undefined,
    ['IsTruncated', page.isTruncated],
    ...contents(ctx, page.contents, ctx.q('fetch-owner') === 'true'),
    ...page.commonPrefixes.map((p): XmlNode => ['CommonPrefixes', [['Prefix', encodeIf(ctx, p)]]]),
  ]);
};

export const listMultipartUploads: Handler = async (ctx, { store }) => {
  const bucket = bucketOf(ctx);
  const prefix = ctx.q('prefix') ?? '';
  const keyMarker = ctx.q('key-marker') ?? '';
  const uploadIdMarker = ctx.q('upload-id-marker') ?? '';
  const maxUploads = intParam(ctx, 'max-uploads', 1000, 1000);
  // S3: with key-marker alone, uploads of keys after it; with upload-id-marker too, also the later
  // uploads of key-marker itself.
  const listed = store.listUploads(bucket, prefix);
  const markerAt = uploadIdMarker === '' ? -1 : listed.findIndex((u) => u.key === keyMarker && u.uploadId === uploadIdMarker);
  const all = listed.filter((u, i) => {
    if (keyMarker === '') return true;
    const c = compareKeys(u.key, keyMarker);
    return c > 0 || (c === 0 && markerAt >= 0 && i > markerAt);
  });
  const uploads = all.slice(0, maxUploads);
  const truncated = all.length > uploads.length;
  const last = uploads[uploads.length - 1];
  sendXml(ctx, 200, 'ListMultipartUploadsResult', [
    ['Bucket', bucket],
    ['KeyMarker', encodeIf(ctx, keyMarker)],
    ['UploadIdMarker', uploadIdMarker],
    truncated && last ? ['NextKeyMarker', encodeIf(ctx, last.key)] : undefined,
    truncated && last ? ['NextUploadIdMarker', last.uploadId] : undefined,
    ['Prefix', encodeIf(ctx, prefix)],
    ['MaxUploads', maxUploads],
    ['IsTruncated', truncated],
    ...uploads.map((u): XmlNode => [
      'Upload',
      [
        ['Key', encodeIf(ctx, u.key)],
        ['UploadId', u.uploadId],
        ['Initiator', [['ID', OWNER_ID]]],
        owner(),
        ['StorageClass', u.attributes.storageClass],
        ['Initiated', u.initiated],
      ],
    ]),
  ]);
};
