/**
 * Writing and reading vim25 SOAP XML. Requests are written element by element in the order the
 * WSDL declares (a real vCenter rejects out-of-order elements; vcsim does not care), values that
 * are polymorphic carry `xsi:type`. Responses are read with fast-xml-parser into plain objects.
 */
import { XMLParser } from 'fast-xml-parser';

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' };
export const escapeXml = (text: string): string => text.replace(/[&<>"']/g, (c) => ESCAPES[c]!);

/** A managed object reference, the `{type, value}` pair vim25 uses for every object. */
export interface MoRef {
  readonly type: string;
  readonly value: string;
}

/** An element; `undefined` or `null` content omits it (optional WSDL fields). */
export function el(name: string, content: string | number | boolean | MoRef | undefined | null, xsiType?: string): string {
  if (content === undefined || content === null) return '';
  const type = xsiType ? ` xsi:type="${xsiType}"` : '';
  if (typeof content === 'object') return `<${name} type="${escapeXml(content.type)}"${type}>${escapeXml(content.value)}</${name}>`;
  return `<${name}${type}>${typeof content === 'string' ? escapeXml(content) : String(content)}</${name}>`;
}

/** An element whose content is already XML (nested structures). */
export const raw = (name: string, innerXml: string, xsiType?: string): string =>
  `<${name}${xsiType ? ` xsi:type="${xsiType}"` : ''}>${innerXml}</${name}>`;

export function envelope(method: string, innerXml: string): string {
  return '<?xml version="1.0" encoding="UTF-8"?>'
    + '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
    + `<soapenv:Body><${method} xmlns="urn:vim25">${innerXml}</${method}></soapenv:Body></soapenv:Envelope>`;
}

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  // Prefixes stay: a moref carries both `type` and `xsi:type`, which would collide without them.
  removeNSPrefix: false,
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: false,
  textNodeName: '#text',
  // Numeric character references (&#34;, &#xA;) as Go's encoding/xml writes them, not only the five named ones.
  htmlEntities: true,
});

export function parseXml(text: string): Record<string, unknown> {
  return parser.parse(text) as Record<string, unknown>;
}

/** fast-xml-parser makes one child an object and several an array; callers want arrays. */
export function toArray<T>(value: T | T[] | undefined | null): T[] {
  if (value === undefined || value === null || value === '') return [];
  return Array.isArray(value) ? value : [value];
}

/** A child element by local name, whatever namespace prefix the server used (`soapenv:Body`, `Body`). */
export function child(node: unknown, localName: string): unknown {
  if (!node || typeof node !== 'object') return undefined;
  const record = node as Record<string, unknown>;
  if (localName in record) return record[localName];
  const key = Object.keys(record).find((k) => k.endsWith(`:${localName}`));
  return key === undefined ? undefined : record[key];
}

/** The `xsi:type` of a polymorphic value. */
export function xsiType(node: unknown): string | undefined {
  if (!node || typeof node !== 'object') return undefined;
  const record = node as Record<string, unknown>;
  const key = Object.keys(record).find((k) => k === '@_xsi:type' || k.endsWith(':type') && k.startsWith('@_'));
  return key ? String(record[key]) : undefined;
}

/** `<x type="Folder">group-d1</x>` as parsed, back to a MoRef. */
export function moRef(node: unknown): MoRef {
  const n = node as { '@_type'?: string; '#text'?: string };
  if (!n || typeof n !== 'object' || !n['@_type']) throw new TypeError('not a managed object reference');
  return { type: n['@_type'], value: n['#text'] ?? '' };
}

/** Text of a leaf element, whether the parser gave a string or a `{#text}` node. */
export function text(node: unknown): string {
  if (typeof node === 'string') return node;
  if (node && typeof node === 'object' && '#text' in node) return String((node)['#text']);
  return '';
}
