/** A tiny XML writer for the fixed response shapes; values are always escaped. */
export type XmlNode = [name: string, children: XmlChild | XmlChild[]];
type XmlChild = XmlNode | string | number | boolean | undefined;

/**
 * Escapes text for element content and attribute values. CR is written `&#13;`: a reader (Go's,
 * obsq's) normalises a raw CR to LF, so a key with a CR would otherwise list as another key.
 */
export function escapeXml(value: string): string {
  return value.replace(/[&<>"'\r]/g, (c) => `&${{ '&': 'amp', '<': 'lt', '>': 'gt', '"': 'quot', "'": 'apos', '\r': '#13' }[c]};`);
}

function render(child: XmlChild | XmlChild[]): string {
  if (child === undefined) return '';
  if (Array.isArray(child)) {
    // An array whose first item is a string is a node; any other array is a list of children.
    if (typeof child[0] === 'string') return renderNode(child as unknown as XmlNode);
    return child.map((c) => render(c)).join('');
  }
  return escapeXml(String(child));
}

function renderNode([name, children]: XmlNode): string {
  return `<${name}>${render(children)}</${name}>`;
}

/**
 * Renders a document: `xmlDocument('Root', ns, [['A', '1'], ['B', [['C', 'x']]]])`.
 * Undefined children are skipped, so optional elements are written as `cond ? node : undefined`.
 */
export function xmlDocument(root: string, namespace: string | undefined, children: XmlChild[]): string {
  const ns = namespace ? ` xmlns="${escapeXml(namespace)}"` : '';
  return `<?xml version="1.0" encoding="UTF-8"?>\n<${root}${ns}>${children.map((c) => render(c)).join('')}</${root}>`;
}
