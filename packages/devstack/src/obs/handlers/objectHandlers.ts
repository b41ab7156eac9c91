import { pipeline } from 'node:stream/promises';
import { S3Error } from '../../errors/index.js';
import { parseRange } from '../range.js';
import { drainBody, sendEmpty, sendXml } from '../responses.js';
import type { RequestContext } from '../requestContext.js';
import { type Handler, MAX_SINGLE_UPLOAD_BYTES } from './handlerEnv.js';
import {
  answeredEtag,
  attributesFromRequest,
  type Conditions,
  copySourceConditions,
  evaluateConditions,
  objectHeaders,
  parseCopySource,
  quoted,
  requestBody,
  target,
} from './objectHelpers.js';

function getConditions(ctx: RequestContext): Conditions {
  const h = ctx.headers;
  const c: Conditions = {};
  if (h['if-match'] !== undefined) c.ifMatch = h['if-match'];
  if (h['if-none-match'] !== undefined) c.ifNoneMatch = h['if-none-match'];
  if (h['if-modified-since'] !== undefined) c.ifModifiedSince = h['if-modified-since'];
  if (h['if-unmodified-since'] !== undefined) c.ifUnmodifiedSince = h['if-unmodified-since'];
  return c;
}

const RESPONSE_OVERRIDES = [
  'content-type',
  'content-language',
  'expires',
  'cache-control',
  'content-disposition',
  'content-encoding',
] as const;

export const putObject: Handler = async (ctx, env) => {
  const { store } = env;
  const { bucket, key } = target(ctx);
  store.headBucket(bucket);
  const { body, limits } = requestBody(ctx, env, MAX_SINGLE_UPLOAD_BYTES);
  const meta = await store.putObject(bucket, key, body, attributesFromRequest(ctx), limits);
  ctx.bodyDone = true;
  sendEmpty(ctx, 200, { etag: quoted(answeredEtag(meta.etag, env)), [`${ctx.prefix}version-id`]: meta.versionId });
};

export const headObject: Handler = async (ctx, { store }) => {
  const { bucket, key } = target(ctx);
  const meta = store.headObject(bucket, key, ctx.q('versionId'));
  const headers = objectHeaders(ctx, meta);
  if (evaluateConditions(meta, getConditions(ctx), false) === 304) {
    sendEmpty(ctx, 304, { etag: headers.etag as string, 'last-modified': headers['last-modified'] as string });
    return;
  }
  sendEmpty(ctx, 200, { ...headers, 'content-length': String(meta.size) });
};

export const getObject: Handler = async (ctx, { store }) => {
  const { bucket, key } = target(ctx);
  let notModified = false;
  const opened = await store.openObject(bucket, key, {
    ...(ctx.q('versionId') !== undefined ? { versionId: ctx.q('versionId') as string } : {}),
    pickRange: (meta) => {
      notModified = evaluateConditions(meta, getConditions(ctx), false) === 304;
      return notModified ? undefined : parseRange(ctx.headers.range, meta.size);
    },
  });
  const { meta, range, stream } = opened;
  const headers = objectHeaders(ctx, meta);
  if (notModified) {
    stream.destroy();
    sendEmpty(ctx, 304, { etag: headers.etag as string, 'last-modified': headers['last-modified'] as string });
    return;
  }
  for (const name of RESPONSE_OVERRIDES) {
    const v = ctx.q(`response-${name}`);
    if (v !== undefined) headers[name] = v;
  }
  const res = ctx.res;
  const common = {
    [`${ctx.prefix}request-id`]: ctx.requestId,
    [`${ctx.prefix}id-2`]: ctx.id2,
    server: ctx.dialect === 'obs' ? 'OBS' : 'AmazonS3',
    date: new Date().toUTCString(),
  };
  if (range) {
    res.writeHead(206, {
      ...common,
      ...headers,
      'content-length': String(range.end - range.start + 1),
      'content-range': `bytes ${range.start}-${range.end}/${meta.size}`,
    });
  } else {
    res.writeHead(200, { ...common, ...headers, 'content-length': String(meta.size) });
  }
  try {
    await pipeline(stream, res);
  } catch {
    // The client went away or the file failed mid-stream: the socket is already torn down.
    stream.destroy();
    res.destroy();
  }
};

export const deleteObject: Handler = async (ctx, { store }) => {
  const { bucket, key } = target(ctx);
  store.headBucket(bucket);
  await store.deleteObject(bucket, key);
  sendEmpty(ctx, 204);
};

export const copyObject: Handler = async (ctx, { store, settings, tamper }) => {
  const { bucket, key } = target(ctx);
  await drainBody(ctx);
  const src = parseCopySource(ctx.ext('copy-source') as string);
  const directive = (ctx.ext('metadata-directive') ?? 'COPY').toUpperCase();
  if (directive !== 'COPY' && directive !== 'REPLACE') {
    throw new S3Error('InvalidArgument', `Unknown metadata directive: ${directive}`);
  }
  if (src.bucket === bucket && src.key === key && directive === 'COPY') {
    throw new S3Error(
      'InvalidRequest',
      "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes.",
    );
  }
  const conditions = copySourceConditions(ctx);
  const { meta, source } = await store.copyObject(
    src,
    { bucket, key },
    directive === 'REPLACE' ? attributesFromRequest(ctx) : undefined,
    (source) => {
      evaluateConditions(source, conditions, true);
      if (source.size > settings.copyObjectMaxBytes) {
        throw new S3Error(
          'InvalidRequest',
          `The specified copy source is larger than the maximum allowable size for a copy source: ${settings.copyObjectMaxBytes}`,
        );
      }
    },
  );
  sendXml(ctx, 200, 'CopyObjectResult', [['LastModified', meta.lastModified], ['ETag', quoted(answeredEtag(meta.etag, { tamper }))]], {
    [`${ctx.prefix}version-id`]: meta.versionId,
    [`${ctx.prefix}copy-source-version-id`]: source.versionId,
    ...(meta.storageClass !== 'STANDARD' ? { [`${ctx.prefix}storage-class`]: meta.storageClass } : {}),
  });
};
