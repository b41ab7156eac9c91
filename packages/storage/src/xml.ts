import { XMLParser } from 'fast-xml-parser';

/** Elements that may repeat and must always parse as arrays. */
const ARRAY_ELEMENTS = new Set(['Part', 'Contents', 'CommonPrefixes', 'Upload']);

const parser = new XMLParser({
  ignoreAttributes: true,
  removeNSPrefix: true,
  // Values stay strings (like the Node SDK): ETags, upload ids and keys must not become numbers.
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: false,
  processEntities: true,
  isArray: (name) => ARRAY_ELEMENTS.has(name),
});

/** A parsed XML element: text, child elements, or arrays of repeating children. */
export type XmlNode = string | { [name: string]: XmlNode | XmlNode[] | undefined };

/** Parses an XML document into plain objects (namespaces dropped, values as strings). */
export function parseXml(text: string): Record<string, XmlNode | undefined> {
  return parser.parse(text) as Record<string, XmlNode | undefined>;
}

/** Reads a child element's text ('' when absent or not text). */
export function xmlText(node: XmlNode | XmlNode[] | undefined, name?: string): string {
  const target = name === undefined ? node : isElement(node) ? node[name] : undefined;
  if (typeof target === 'string') return target;
  if (typeof target === 'number' || typeof target === 'boolean') return String(target);
  return '';
}

/** Reads a child element (undefined when absent or text). */
export function xmlChild(node: XmlNode | XmlNode[] | undefined, name: string): XmlNode | undefined {
  if (!isElement(node)) return undefined;
  const child = node[name];
  return Array.isArray(child) ? child[0] : child;
}

/** Reads repeating children as an array (empty when absent). */
export function xmlChildren(node: XmlNode | XmlNode[] | undefined, name: string): XmlNode[] {
  if (!isElement(node)) return [];
  const child = node[name];
  if (child === undefined) return [];
  return Array.isArray(child) ? child : [child];
}

function isElement(node: unknown): node is Record<string, XmlNode | XmlNode[] | undefined> {
  return typeof node === 'object' && node !== null && !Array.isArray(node);
}

/** Escapes text for an XML element body or attribute. */
export function escapeXml(value: string): string {
  return value.replace(/[&<>"']/g, (c) =>
    c === '&' ? '&amp;' : c === '<' ? '&lt;' : c === '>' ? '&gt;' : c === '"' ? '&quot;' : '&apos;',
  );
}

/** One part of a CompleteMultipartUpload request. */
export interface CompletedPart {
  /** 1..10000. */
  partNumber: number;
  /** The ETag UploadPart/UploadPartCopy returned, quoted or not (sent as given, escaped). */
  etag: string;
}

/**
 * The CompleteMultipartUpload body, parts sorted ascending by number (OBS answers
 * 400 InvalidPartOrder otherwise; the Node SDK does not sort, the Python SDK does).
 */
export function completeMultipartXml(parts: ReadonlyArray<CompletedPart>): string {
  const sorted = [...parts].sort((a, b) => a.partNumber - b.partNumber);
  return (
    '<CompleteMultipartUpload>' +
    sorted.map((p) => `<Part><PartNumber>${p.partNumber}</PartNumber><ETag>${escapeXml(p.etag)}</ETag></Part>`).join('') +
    '</CompleteMultipartUpload>'
  );
}
