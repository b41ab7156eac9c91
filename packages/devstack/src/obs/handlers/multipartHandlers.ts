import { xmlChildren, xmlText } from '@obsq/storage';
import { S3Error } from '../../errors/index.js';
import type { CompletePart } from '../../storage/index.js';
import { parseCopySourceRange } from '../range.js';
import { drainBody, sendEmpty, sendXml } from '../responses.js';
import type { RequestContext } from '../requestContext.js';
import { parseRequestXml, readXmlBody } from '../requestXml.js';
import type { XmlNode } from '../xml.js';
import { intParam, OWNER_ID } from './bucketHandlers.js';
import { type Handler, MAX_SINGLE_UPLOAD_BYTES } from './handlerEnv.js';
import {
  answeredEtag,
  attributesFromRequest,
  copySourceConditions,
  evaluateConditions,
  parseCopySource,
  quoted,
  requestBody,
  target,
} from './objectHelpers.js';

function uploadIdOf(ctx: RequestContext): string {
  const id = ctx.q('uploadId');
  if (!id) throw new S3Error('NoSuchUpload');
  return id;
}

function partNumberOf(ctx: RequestContext): number {
  const n = Number(ctx.q('partNumber'));
  if (!Number.isInteger(n) || n < 1 || n > 10_000) {
    throw new S3Error('InvalidArgument', 'Part number must be an integer between 1 and 10000, inclusive', {
      extra: { ArgumentName: 'partNumber', ArgumentValue: ctx.q('partNumber') ?? '' },
    });
  }
  return n;
}

export const initiateMultipartUpload: Handler = async (ctx, { store }) => {
  const { bucket, key } = target(ctx);
  await drainBody(ctx);
  const upload = await store.initiateUpload(bucket, key, attributesFromRequest(ctx));
  sendXml(ctx, 200, 'InitiateMultipartUploadResult', [
    ['Bucket', bucket],
    ['Key', key],
    ['UploadId', upload.uploadId],
  ]);
};

export const uploadPart: Handler = async (ctx, env) => {
  const { store } = env;
  const { bucket, key } = target(ctx);
  const uploadId = uploadIdOf(ctx);
  const partNumber = partNumberOf(ctx);
  store.getUpload(bucket, key, uploadId);
  const { body, limits } = requestBody(ctx, env, MAX_SINGLE_UPLOAD_BYTES);
  const part = await store.uploadPart(bucket, key, uploadId, partNumber, body, limits);
  ctx.bodyDone = true;
  sendEmpty(ctx, 200, { etag: quoted(answeredEtag(part.etag, env)) });
};

export const uploadPartCopy: Handler = async (ctx, { store, tamper }) => {
  const { bucket, key } = target(ctx);
  await drainBody(ctx);
  const uploadId = uploadIdOf(ctx);
  const partNumber = partNumberOf(ctx);
  const src = parseCopySource(ctx.ext('copy-source') as string);
  const rangeHeader = ctx.ext('copy-source-range');
  const conditions = copySourceConditions(ctx);
  const { part, source } = await store.uploadPartCopy({ bucket, key, uploadId, partNumber }, src, (source) => {
    evaluateConditions(source, conditions, true);
    const range = rangeHeader !== undefined ? parseCopySourceRange(rangeHeader, source.size) : undefined;
    const length = range ? range.end - range.start + 1 : source.size;
    if (length > MAX_SINGLE_UPLOAD_BYTES) throw new S3Error('InvalidRequest', 'The specified copy range is larger than 5 GiB.');
    return range;
  });
  sendXml(ctx, 200, 'CopyPartResult', [['LastModified', part.lastModified], ['ETag', quoted(answeredEtag(part.etag, { tamper }))]], {
    [`${ctx.prefix}copy-source-version-id`]: source.versionId,
  });
};

/**
 * Parses a CompleteMultipartUpload body (references decoded: rclone sends `&#34;etag&#34;`);
 * `MalformedXML` when it is not one. An empty part list is left to the store (S3 answers it with
 * its own MalformedXML message).
 */
export function parseCompleteBody(xml: Buffer | string): CompletePart[] {
  return xmlChildren(parseRequestXml(xml, 'CompleteMultipartUpload'), 'Part').map((p) => {
    const number = xmlText(p, 'PartNumber').trim();
    const n = /^[0-9]{1,5}$/.test(number) ? Number(number) : Number.NaN;
    const etag = typeof p === 'object' ? p.ETag : undefined;
    if (!Number.isInteger(n) || n < 1 || n > 10_000 || typeof etag !== 'string') throw new S3Error('MalformedXML');
    return { partNumber: n, etag };
  });
}

export const completeMultipartUpload: Handler = async (ctx, { store, settings, auth, tamper }) => {
  const { bucket, key } = target(ctx);
  const uploadId = uploadIdOf(ctx);
  const body = await readXmlBody(ctx, auth);
  store.getUpload(bucket, key, uploadId);
  const parts = parseCompleteBody(body);
  const meta = await store.completeUpload(bucket, key, uploadId, parts, settings.minPartSize);
  const host = ctx.headers.host ?? 'localhost';
  const location = ctx.address.virtualHostBucket !== undefined
    ? `http://${host}/${encodeURI(key)}`
    : `http://${host}/${bucket}/${encodeURI(key)}`;
  sendXml(
    ctx,
    200,
    'CompleteMultipartUploadResult',
    [['Location', location], ['Bucket', bucket], ['Key', key], ['ETag', quoted(answeredEtag(meta.etag, { tamper }))]],
    { [`${ctx.prefix}version-id`]: meta.versionId },
  );
};

export const abortMultipartUpload: Handler = async (ctx, { store }) => {
  const { bucket, key } = target(ctx);
  await store.abortUpload(bucket, key, uploadIdOf(ctx));
  sendEmpty(ctx, 204);
};

export const listParts: Handler = async (ctx, { store }) => {
  const { bucket, key } = target(ctx);
  const uploadId = uploadIdOf(ctx);
  const maxParts = intParam(ctx, 'max-parts', 1000, 1000);
  const marker = intParam(ctx, 'part-number-marker', 0, 10_000);
  const page = store.listParts(bucket, key, uploadId, { marker, maxParts });
  const encode = ctx.q('encoding-type') === 'url';
  sendXml(ctx, 200, 'ListPartsResult', [
    ['Bucket', bucket],
    ['Key', encode ? encodeURIComponent(key).replace(/%2F/g, '/') : key],
    ['UploadId', uploadId],
    ['Initiator', [['ID', OWNER_ID], ['DisplayName', OWNER_ID]]],
    ['Owner', [['ID', OWNER_ID], ['DisplayName', OWNER_ID]]],
    ['StorageClass', page.upload.attributes.storageClass],
    ['PartNumberMarker', marker],
    ['NextPartNumberMarker', page.nextPartNumberMarker],
    ['MaxParts', maxParts],
    ['IsTruncated', page.isTruncated],
    ...page.parts.map((p): XmlNode => [
      'Part',
      [['PartNumber', p.partNumber], ['LastModified', p.lastModified], ['ETag', quoted(p.etag)], ['Size', p.size]],
    ]),
  ]);
};
