import { XMLParser } from 'fast-xml-parser';

/** A `<File>` of References: a file the OVA must carry. */
export interface OvfFileReference {
  readonly id: string;
  readonly href: string;
  /** `ovf:size` when the descriptor gives one. */
  readonly size: number | undefined;
}

/** A ProductSection `<Property>`, as vSphere reads it. */
export interface OvfProperty {
  readonly key: string;
  readonly type: string;
  readonly qualifiers: string | undefined;
  readonly userConfigurable: boolean;
  readonly password: boolean;
  /** `ovf:value`, '' when absent. */
  readonly defaultValue: string;
  readonly label: string | undefined;
  readonly description: string | undefined;
  /** The `<Category>` that precedes it, if any. */
  readonly category: string | undefined;
}

export interface ParsedOvf {
  readonly name: string | undefined;
  readonly references: readonly OvfFileReference[];
  readonly networks: readonly string[];
  readonly properties: readonly OvfProperty[];
  /** `ovf:transport` of the VirtualHardwareSection, split on whitespace. */
  readonly transport: readonly string[];
}

// Namespace prefixes dropped: descriptors use `ovf:` or a default namespace, both mean the same.
// preserveOrder keeps the ProductSection's Category/Property interleaving readable.
const parser = new XMLParser({
  ignoreAttributes: false, attributeNamePrefix: '', removeNSPrefix: true, parseTagValue: false,
  parseAttributeValue: false, trimValues: true, preserveOrder: true, htmlEntities: true,
});

type Ordered = Array<Record<string, unknown>>;

const nameOf = (node: Record<string, unknown>): string | undefined => Object.keys(node).find((k) => k !== ':@');
const childrenOf = (node: Record<string, unknown>): Ordered => (node[nameOf(node) ?? ''] as Ordered | undefined) ?? [];
const attrsOf = (node: Record<string, unknown>): Record<string, string> => (node[':@'] as Record<string, string> | undefined) ?? {};
const find = (nodes: Ordered, name: string): Array<Record<string, unknown>> => nodes.filter((n) => nameOf(n) === name);
const textOf = (node: Record<string, unknown> | undefined): string | undefined =>
  node === undefined ? undefined : childrenOf(node).map((c) => (typeof c['#text'] === 'string' ? c['#text'] : '')).join('');

/**
 * Reads what deploying needs from an OVF descriptor: the files it references, its networks and its
 * vApp properties. Throws a plain Error on XML that does not parse or has no Envelope; callers
 * turn that into their own error with the file's name.
 */
export function parseOvfDescriptor(xml: string): ParsedOvf {
  const doc = parser.parse(xml) as Ordered;
  const envelope = find(doc, 'Envelope')[0];
  if (!envelope) throw new Error('no <Envelope> element');
  const top = childrenOf(envelope);
  const references = find(find(top, 'References').flatMap(childrenOf), 'File').map((f) => {
    const a = attrsOf(f);
    return { id: a.id ?? '', href: a.href ?? '', size: a.size === undefined ? undefined : Number(a.size) };
  });
  const networks = find(find(top, 'NetworkSection').flatMap(childrenOf), 'Network').map((n) => attrsOf(n).name ?? '');
  const system = find(top, 'VirtualSystem')[0];
  const systemChildren = system ? childrenOf(system) : [];
  const hardware = find(systemChildren, 'VirtualHardwareSection')[0];
  const properties: OvfProperty[] = [];
  for (const section of [...find(top, 'ProductSection'), ...find(systemChildren, 'ProductSection')]) {
    let category: string | undefined;
    for (const node of childrenOf(section)) {
      if (nameOf(node) === 'Category') category = textOf(node);
      if (nameOf(node) !== 'Property') continue;
      const a = attrsOf(node);
      const children = childrenOf(node);
      properties.push({
        key: a.key ?? '', type: a.type ?? '', qualifiers: a.qualifiers, userConfigurable: a.userConfigurable === 'true',
        password: a.password === 'true', defaultValue: a.value ?? '',
        label: textOf(find(children, 'Label')[0]), description: textOf(find(children, 'Description')[0]), category,
      });
    }
  }
  return {
    name: textOf(find(systemChildren, 'Name')[0]),
    references, networks, properties,
    transport: (hardware ? attrsOf(hardware).transport ?? '' : '').split(/\s+/).filter(Boolean),
  };
}
