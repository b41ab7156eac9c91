import { ObsqError } from '@obsq/shared';

/** Elements that may repeat and must always parse as arrays. */
const ARRAY_ELEMENTS = new Set(['Part', 'Contents', 'CommonPrefixes', 'Upload']);

/** A parsed XML element: text, child elements, or arrays of repeating children. */
export type XmlNode = string | { [name: string]: XmlNode | XmlNode[] | undefined };

/**
 * A document that is not well-formed XML, or uses what obsq refuses to read: a DOCTYPE (so no
 * entity can be declared or expanded), an unknown entity, or a character reference to a code
 * point XML 1.0 does not allow (`&#0;`, `&#xD800;`, `&#x110000;`). Permanent: the same bytes
 * fail the same way. The client turns it into an `InvalidResponse` result; devstack into S3's
 * `MalformedXML`.
 */
export class XmlSyntaxError extends ObsqError {
  /** What was wrong, e.g. `unknown entity &nbsp;`. */
  readonly rule: string;
  /** UTF-16 offset in the document (after line-end normalisation) where it was found. */
  readonly offset: number;

  constructor(rule: string, offset: number) {
    super('OBSQ_STORAGE', `XML: ${rule} at offset ${offset}`, { permanent: true, details: { rule, offset } });
    this.name = 'XmlSyntaxError';
    this.rule = rule;
    this.offset = offset;
  }
}

const NAMED_ENTITIES: Readonly<Record<string, string>> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

/** XML 1.0 `Char`: what a character reference may name. */
function isXmlChar(cp: number): boolean {
  return (
    cp === 0x9 || cp === 0xa || cp === 0xd ||
    (cp >= 0x20 && cp <= 0xd7ff) || (cp >= 0xe000 && cp <= 0xfffd) || (cp >= 0x10000 && cp <= 0x10ffff)
  );
}

// A reference, or a bare '&' (which is an error): one pass, no backtracking.
const REFERENCE = /&(?:#([0-9]+);|#x([0-9a-fA-F]+);|([A-Za-z_][A-Za-z0-9._-]*);)?/g;

/**
 * Decodes the character references of XML text or of an attribute value: decimal (`&#34;`),
 * hexadecimal (`&#x22;`) and the five predefined entities. Go's encoder writes an ETag's quotes
 * as `&#34;`, so a reader without this misreads every ETag from a Go client or server.
 * @param offset where `raw` starts in the document, for error offsets
 * @throws XmlSyntaxError for a stray `&`, an unknown entity or a code point outside XML's `Char`
 */
export function decodeXmlText(raw: string, offset = 0): string {
  if (!raw.includes('&')) return raw;
  return raw.replace(REFERENCE, (ref: string, dec: string | undefined, hex: string | undefined, name: string | undefined, at: number) => {
    if (name !== undefined) {
      const value = NAMED_ENTITIES[name];
      if (value === undefined) throw new XmlSyntaxError(`unknown entity &${name};`, offset + at);
      return value;
    }
    if (dec === undefined && hex === undefined) {
      throw new XmlSyntaxError("'&' must start a reference such as &amp; or &#34;", offset + at);
    }
    const digits = (dec ?? hex ?? '').replace(/^0+/, '');
    // More than 8 significant digits is beyond U+10FFFF in either base; parse no huge numbers.
    const cp = digits.length > 8 ? Number.POSITIVE_INFINITY : digits === '' ? 0 : Number.parseInt(digits, dec !== undefined ? 10 : 16);
    if (!isXmlChar(cp)) throw new XmlSyntaxError(`character reference ${ref} is not an XML character`, offset + at);
    return String.fromCodePoint(cp);
  });
}

// Name characters, broadly: ASCII name characters plus everything above U+00B7 (XML's own ranges
// are finer; no S3 or OBS element name comes near the difference).
const NAME = /[A-Za-z_:\u00C0-\uFFFF][A-Za-z0-9_:.\-\u00B7-\uFFFF]*/y;
const SPACE = /[ \t\n]*/y;

interface Frame {
  qname: string;
  name: string;
  node: Record<string, XmlNode | XmlNode[] | undefined>;
  text: string;
  hasChildren: boolean;
}

function match(re: RegExp, s: string, at: number): string | undefined {
  re.lastIndex = at;
  const m = re.exec(s);
  return m === null ? undefined : m[0];
}

function addChild(parent: Frame, name: string, value: XmlNode): void {
  parent.hasChildren = true;
  const existing = parent.node[name];
  if (existing === undefined) parent.node[name] = ARRAY_ELEMENTS.has(name) ? [value] : value;
  else if (Array.isArray(existing)) existing.push(value);
  else parent.node[name] = [existing, value];
}

/**
 * Parses an XML document into plain objects: namespace prefixes and attributes dropped, values
 * kept as strings (ETags, upload ids and keys must not become numbers), character references
 * decoded, whitespace kept in text. An element with child elements becomes an object (text between
 * them is dropped), any other element its text (`''` when empty). `Part`, `Contents`,
 * `CommonPrefixes` and `Upload` are always arrays; any other name that repeats becomes one.
 * Objects have no prototype, so an element named `__proto__` is just a key.
 *
 * Deliberately small and strict: it reads the S3/OBS documents and nothing that can make it
 * expand input (a DOCTYPE is refused, so there are no user-defined entities). References are held
 * to XML's `Char`; raw characters are passed through unchecked, so a listing whose key holds a raw
 * control character (which XML 1.0 cannot carry, and some servers send anyway) still reads.
 * @throws XmlSyntaxError when the document is not well-formed
 */
export function parseXml(text: string): Record<string, XmlNode | undefined> {
  // XML normalises line ends before parsing; a CR that must survive is written &#13;.
  const s = (text.charCodeAt(0) === 0xfeff ? text.slice(1) : text).replace(/\r\n?/g, '\n');
  const stack: Frame[] = [];
  const doc = Object.create(null) as Record<string, XmlNode | undefined>;
  let rootDone = false;
  let i = 0;
  while (i < s.length) {
    const top = stack[stack.length - 1];
    if (s[i] !== '<') {
      const lt = s.indexOf('<', i);
      const end = lt === -1 ? s.length : lt;
      const raw = s.slice(i, end);
      if (top === undefined) {
        if (raw.trim() !== '') throw new XmlSyntaxError('text outside the root element', i);
      } else {
        const cdataEnd = raw.indexOf(']]>');
        if (cdataEnd !== -1) throw new XmlSyntaxError("']]>' in text", i + cdataEnd);
        top.text += decodeXmlText(raw, i);
      }
      i = end;
    } else if (s.startsWith('<!--', i)) {
      const end = s.indexOf('-->', i + 4);
      if (end === -1) throw new XmlSyntaxError('comment is not closed', i);
      i = end + 3;
    } else if (s.startsWith('<![CDATA[', i)) {
      const end = s.indexOf(']]>', i + 9);
      if (end === -1) throw new XmlSyntaxError('CDATA section is not closed', i);
      if (top === undefined) throw new XmlSyntaxError('CDATA outside the root element', i);
      top.text += s.slice(i + 9, end);
      i = end + 3;
    } else if (s.startsWith('<!', i)) {
      throw new XmlSyntaxError('DOCTYPE and other declarations are not accepted', i);
    } else if (s.startsWith('<?', i)) {
      const end = s.indexOf('?>', i + 2);
      if (end === -1) throw new XmlSyntaxError('processing instruction is not closed', i);
      const target = match(NAME, s, i + 2);
      if (target === undefined) throw new XmlSyntaxError('processing instruction has no target', i);
      if (target.toLowerCase() === 'xml' && i !== 0) throw new XmlSyntaxError('XML declaration not at the start', i);
      i = end + 2;
    } else if (s.startsWith('</', i)) {
      const qname = match(NAME, s, i + 2);
      if (top === undefined || qname !== top.qname) {
        throw new XmlSyntaxError(`end tag </${qname ?? ''}> does not match ${top ? `<${top.qname}>` : 'any open element'}`, i);
      }
      const after = i + 2 + qname.length + (match(SPACE, s, i + 2 + qname.length) ?? '').length;
      if (s[after] !== '>') throw new XmlSyntaxError(`end tag </${qname}> is not closed`, i);
      stack.pop();
      rootDone = closeElement(top, stack, doc);
      i = after + 1;
    } else {
      if (rootDone) throw new XmlSyntaxError('more than one root element', i);
      const qname = match(NAME, s, i + 1);
      if (qname === undefined) throw new XmlSyntaxError("'<' must start a tag", i);
      let j = i + 1 + qname.length;
      let seen: Set<string> | undefined;
      for (;;) {
        const space = match(SPACE, s, j) ?? '';
        j += space.length;
        if (s[j] === '>' || s.startsWith('/>', j)) break;
        const attr = space === '' ? undefined : match(NAME, s, j);
        if (attr === undefined) throw new XmlSyntaxError(`tag <${qname}> is not well-formed`, j);
        seen ??= new Set<string>();
        if (seen.has(attr)) throw new XmlSyntaxError(`attribute ${attr} repeated`, j);
        seen.add(attr);
        j += attr.length;
        j += (match(SPACE, s, j) ?? '').length;
        if (s[j] !== '=') throw new XmlSyntaxError(`attribute ${attr} has no value`, j);
        j += 1 + (match(SPACE, s, j + 1) ?? '').length;
        const quote = s[j];
        const end = quote === '"' || quote === "'" ? s.indexOf(quote, j + 1) : -1;
        if (end === -1) throw new XmlSyntaxError(`attribute ${attr} value is not quoted`, j);
        const value = s.slice(j + 1, end);
        if (value.includes('<')) throw new XmlSyntaxError(`'<' in attribute ${attr}`, j);
        decodeXmlText(value, j + 1); // attributes are dropped, but must be well-formed
        j = end + 1;
      }
      const colon = qname.indexOf(':');
      const frame: Frame = {
        qname,
        name: colon === -1 ? qname : qname.slice(colon + 1),
        node: Object.create(null) as Frame['node'],
        text: '',
        hasChildren: false,
      };
      if (s[j] === '>') {
        stack.push(frame);
        i = j + 1;
      } else {
        rootDone = closeElement(frame, stack, doc);
        i = j + 2;
      }
    }
  }
  if (stack.length > 0) throw new XmlSyntaxError(`element <${stack[stack.length - 1]!.qname}> is not closed`, s.length);
  if (!rootDone) throw new XmlSyntaxError('no root element', s.length);
  return doc;
}

/** Hands a finished element to its parent, or to the document; true when it was the root. */
function closeElement(frame: Frame, stack: Frame[], doc: Record<string, XmlNode | undefined>): boolean {
  const value: XmlNode = frame.hasChildren ? frame.node : frame.text;
  const parent = stack[stack.length - 1];
  if (parent === undefined) {
    doc[frame.name] = value;
    return true;
  }
  addChild(parent, frame.name, value);
  return false;
}

/** Reads a child element's text ('' when absent or not text). */
export function xmlText(node: XmlNode | XmlNode[] | undefined, name?: string): string {
  const target = name === undefined ? node : isElement(node) ? node[name] : undefined;
  return typeof target === 'string' ? target : '';
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

/**
 * Escapes text for an XML element body or attribute. CR is written as a reference because a
 * reader normalises a raw CR to LF.
 */
export function escapeXml(value: string): string {
  return value.replace(/[&<>"'\r]/g, (c) =>
    c === '&' ? '&amp;' : c === '<' ? '&lt;' : c === '>' ? '&gt;' : c === '"' ? '&quot;' : c === "'" ? '&apos;' : '&#13;',
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
