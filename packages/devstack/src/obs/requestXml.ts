import { createHash } from 'node:crypto';
import { parseXml, XmlSyntaxError, type XmlNode } from '@obsq/storage';
import { S3Error } from '../errors/index.js';
import type { RequestContext } from './requestContext.js';
import { readSmallBody } from './responses.js';
import type { AuthOutcome } from './verifyAuth.js';

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Reads an XML request body whose root must be `root` and returns that element. Character
 * references are decoded (Go clients such as rclone write an ETag's quotes as `&#34;`); anything
 * S3 would refuse — not UTF-8, not well-formed, a DOCTYPE (no entity is ever expanded), `&#0;`,
 * an unknown entity, another root — is `MalformedXML`, with the reason chained as `cause`.
 * An empty root (`<Root/>`) is returned as `''`.
 */
export function parseRequestXml(body: Buffer | string, root: string): XmlNode {
  let doc: Record<string, XmlNode | undefined>;
  try {
    doc = parseXml(typeof body === 'string' ? body : utf8.decode(body));
  } catch (err) {
    if (err instanceof XmlSyntaxError || err instanceof TypeError) throw new S3Error('MalformedXML', undefined, { cause: err });
    throw err;
  }
  const element = doc[root];
  if (element === undefined) {
    throw new S3Error('MalformedXML', undefined, { cause: new Error(`root element must be <${root}>, got <${Object.keys(doc).join('')}>`) });
  }
  return element;
}

/**
 * Reads a small XML request body and checks it as S3 does: `Content-MD5` (`InvalidDigest`,
 * `BadDigest`) and a signed hex `x-amz-content-sha256` (`XAmzContentSHA256Mismatch`). Parse it
 * with {@link parseRequestXml}.
 */
export async function readXmlBody(ctx: RequestContext, auth: AuthOutcome, maxBytes = 4 * 1024 * 1024): Promise<Buffer> {
  const body = await readSmallBody(ctx, maxBytes);
  const contentMd5 = ctx.headers['content-md5'];
  if (contentMd5 !== undefined) {
    if (Buffer.from(contentMd5, 'base64').length !== 16) throw new S3Error('InvalidDigest');
    if (createHash('md5').update(body).digest('base64') !== contentMd5) throw new S3Error('BadDigest');
  }
  if (auth.payloadHash !== undefined && /^[0-9a-fA-F]{64}$/.test(auth.payloadHash)) {
    if (createHash('sha256').update(body).digest('hex') !== auth.payloadHash.toLowerCase()) throw new S3Error('XAmzContentSHA256Mismatch');
  }
  return body;
}
