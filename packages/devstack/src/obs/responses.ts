import { STATUS_CODES } from 'node:http';
import { randomBytes } from 'node:crypto';
import { S3Error } from '../errors/index.js';
import type { RequestContext } from './requestContext.js';
import { xmlDocument, type XmlNode } from './xml.js';

/** Namespace on success bodies, per dialect. */
export function xmlNamespace(ctx: RequestContext): string {
  return ctx.dialect === 'obs' ? 'http://obs.myhwclouds.com/doc/2015-06-30/' : 'http://s3.amazonaws.com/doc/2006-03-01/';
}

/** Headers on every response: request id, id-2, server and date. */
function commonHeaders(ctx: RequestContext): Record<string, string> {
  return {
    [`${ctx.prefix}request-id`]: ctx.requestId,
    [`${ctx.prefix}id-2`]: ctx.id2,
    server: ctx.dialect === 'obs' ? 'OBS' : 'AmazonS3',
    date: new Date().toUTCString(),
  };
}

/** Sends a response with no body (HEAD, 204, UploadPart ...). */
export function sendEmpty(ctx: RequestContext, status: number, headers: Record<string, string | number> = {}): void {
  const res = ctx.res;
  res.writeHead(status, { ...commonHeaders(ctx), 'content-length': '0', ...headers });
  res.end();
}

/** Sends an XML document. */
export function sendXml(
  ctx: RequestContext,
  status: number,
  root: string,
  children: Array<XmlNode | undefined>,
  headers: Record<string, string | number> = {},
): void {
  const body = Buffer.from(xmlDocument(root, xmlNamespace(ctx), children), 'utf8');
  ctx.res.writeHead(status, {
    ...commonHeaders(ctx),
    'content-type': 'application/xml',
    'content-length': String(body.length),
    ...headers,
  });
  ctx.res.end(ctx.method === 'HEAD' ? undefined : body);
}

/** The `<Resource>` of an error: `/bucket/key`, `/bucket` or `/`. */
function resourceOf(ctx: RequestContext): string {
  const { bucket, key } = ctx.address;
  if (!bucket) return '/';
  return key === undefined ? `/${bucket}` : `/${bucket}/${key}`;
}

/**
 * Answers with an error: `<Error>` XML with the dialect's request-id headers, plus
 * `x-reserved-indicator` for OBS; HEAD gets no body but `x-*-error-code`/`-message` headers.
 */
export function sendError(ctx: RequestContext, err: S3Error): void {
  const res = ctx.res;
  if (res.headersSent) {
    // Too late for a status: cut the stream so the client sees a truncated body, not a success.
    res.destroy(err);
    return;
  }
  const headers: Record<string, string> = { ...commonHeaders(ctx) };
  if (ctx.dialect === 'obs') headers['x-reserved-indicator'] = randomBytes(16).toString('hex').toUpperCase();
  if (!ctx.bodyDone) headers.connection = 'close';
  if (ctx.method === 'HEAD') {
    headers[`${ctx.prefix}error-code`] = err.s3Code;
    headers[`${ctx.prefix}error-message`] = headerSafe(err.message);
    res.writeHead(err.status, STATUS_CODES[err.status], headers);
    res.end();
    return;
  }
  const body = Buffer.from(
    xmlDocument('Error', undefined, [
      ['Code', err.s3Code],
      ['Message', err.message],
      ['RequestId', ctx.requestId],
      ['HostId', ctx.id2],
      ['Resource', resourceOf(ctx)],
      ...Object.entries(err.extra).map(([k, v]): XmlNode => [k, v]),
    ]),
    'utf8',
  );
  res.writeHead(err.status, STATUS_CODES[err.status], {
    ...headers,
    'content-type': 'application/xml',
    'content-length': String(body.length),
  });
  res.end(body);
}

function headerSafe(value: string): string {
  return value.replace(/[^\x20-\x7e]/g, '?');
}

/** Reads and discards the rest of the request body (so an early error does not break keep-alive). */
export async function drainBody(ctx: RequestContext): Promise<void> {
  if (ctx.bodyDone || ctx.req.readableEnded || ctx.req.destroyed) {
    ctx.bodyDone = true;
    return;
  }
  await new Promise<void>((resolve) => {
    ctx.req.on('end', resolve);
    ctx.req.on('error', () => resolve());
    ctx.req.on('close', resolve);
    ctx.req.resume();
  });
  ctx.bodyDone = ctx.req.readableEnded;
}

/** Reads a small body (XML, JSON) into memory, refusing more than `maxBytes`. */
export async function readSmallBody(ctx: RequestContext, maxBytes = 4 * 1024 * 1024): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of ctx.req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxBytes) throw new S3Error('EntityTooLarge', 'The request body is too large.');
    chunks.push(chunk);
  }
  ctx.bodyDone = true;
  return Buffer.concat(chunks);
}
