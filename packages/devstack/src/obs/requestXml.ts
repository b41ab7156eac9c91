import { parseXml, XmlSyntaxError, type XmlNode } from '@obsq/storage';
import { S3Error } from '../errors/index.js';

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
