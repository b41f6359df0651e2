import { escapeXml } from './soap-xml.js';

/**
 * Writes a node as parsed by soap-xml's parseXml back to XML, for values a client hands back
 * unchanged (CreateImportSpec's importSpec goes to ImportVApp as is). Element order is the order
 * the server wrote, which is WSDL order: fast-xml-parser keeps keys in first-seen order, and a
 * repeated element (deviceChange) is one run in vim25 types, so grouping it into an array moves
 * nothing. Namespace declarations are dropped (the request envelope declares xsi and xsd), and a
 * type attribute in the XMLSchema-instance namespace is written `xsi:type` whatever prefix the
 * server used.
 */
export function parsedToXml(name: string, node: unknown): string {
  if (node === undefined || node === null) return '';
  if (Array.isArray(node)) return node.map((item) => parsedToXml(name, item)).join('');
  if (typeof node === 'string' || typeof node === 'number' || typeof node === 'boolean') return `<${name}>${escapeXml(String(node))}</${name}>`;
  if (typeof node !== 'object') return '';
  let attributes = '';
  let text = '';
  let children = '';
  for (const [key, value] of Object.entries(node as Record<string, unknown>)) {
    if (key === '#text') text = escapeXml(String(value));
    else if (key.startsWith('@_')) attributes += attribute(key.slice(2), String(value));
    else children += parsedToXml(key.replace(/^[^:]*:/, ''), value);
  }
  return `<${name}${attributes}>${text}${children}</${name}>`;
}

function attribute(name: string, value: string): string {
  if (name === 'xmlns' || name.startsWith('xmlns:')) return '';
  if (name.endsWith(':type')) return ` xsi:type="${escapeXml(value)}"`;
  return ` ${name}="${escapeXml(value)}"`;
}
