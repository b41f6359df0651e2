import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { APPLIANCE_PROPERTIES, type ApplianceProperty } from '../../installer-ova/appliance/appliance-properties.js';
import { buildOvfDescriptor, OVF_NAMESPACES, STREAM_OPTIMIZED } from '../../installer-ova/ovf/ovf-descriptor.js';
import { parseOvfDescriptor } from '../../installer-ova/ovf/parse-ovf-descriptor.js';

const INPUT = { name: 'pcg-installer', version: '1.2.3', diskFile: 'pcg-installer-disk1.vmdk', diskFileBytes: 123_456_789, diskCapacityBytes: 8 * 1024 ** 3, diskPopulatedBytes: 987_654_321 };

// Parsed independently of the code under test: prefixes kept, so the namespaces are checked too.
const parser = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '@', parseTagValue: false, parseAttributeValue: false, isArray: (name) => ['Item', 'Property', 'Category', 'vmw:Config', 'File', 'Network', 'Disk'].includes(name) });
type Node = Record<string, unknown>;
const get = (node: unknown, ...path: string[]): Node => path.reduce((n, key) => (n as Node)[key], node) as Node;
const list = (node: unknown, ...path: string[]): Node[] => get(node, ...path) as unknown as Node[];

describe('OVF descriptor (buildOvfDescriptor)', () => {
  const xml = buildOvfDescriptor(INPUT);
  const envelope = get(parser.parse(xml), 'Envelope');
  const system = get(envelope, 'VirtualSystem');
  const hardware = get(system, 'VirtualHardwareSection');
  const items = list(hardware, 'Item');
  const byType = (type: number): Node[] => items.filter((i) => i['rasd:ResourceType'] === String(type));

  it('is well-formed XML (fast-xml-parser validator; xmllint too when installed)', () => {
    assert.equal(XMLValidator.validate(xml), true);
    const lint = spawnSync('xmllint', ['--noout', '-'], { input: xml, encoding: 'utf8' });
    if (!lint.error) assert.equal(lint.status, 0, lint.stderr);
  });

  it('declares the OVF 1.0 namespaces as vSphere exports them', () => {
    assert.equal(envelope['@xmlns'], 'http://schemas.dmtf.org/ovf/envelope/1');
    for (const [prefix, uri] of Object.entries(OVF_NAMESPACES)) assert.equal(envelope[`@xmlns:${prefix}`], uri, prefix);
  });

  it('references the vmdk with its size, and describes the disk as streamOptimized with its capacity', () => {
    assert.deepEqual(list(envelope, 'References', 'File'), [{ '@ovf:href': 'pcg-installer-disk1.vmdk', '@ovf:id': 'file1', '@ovf:size': '123456789' }]);
    assert.deepEqual(list(envelope, 'DiskSection', 'Disk'), [{
      '@ovf:capacity': String(8 * 1024 ** 3), '@ovf:capacityAllocationUnits': 'byte', '@ovf:diskId': 'vmdisk1', '@ovf:fileRef': 'file1',
      '@ovf:format': STREAM_OPTIMIZED, '@ovf:populatedSize': '987654321',
    }]);
    assert.equal(STREAM_OPTIMIZED, 'http://www.vmware.com/interfaces/specifications/vmdk.html#streamOptimized');
    assert.deepEqual(list(envelope, 'NetworkSection', 'Network').map((n) => n['@ovf:name']), ['VM Network']);
  });

  it('one VirtualSystem: Debian 12 64-bit, vmx-13, 2 vCPU, 2 GiB, BIOS, both OVF environment transports', () => {
    assert.equal(system['@ovf:id'], 'pcg-installer');
    assert.equal(system.Name, 'pcg-installer');
    assert.equal(get(system, 'OperatingSystemSection')['@ovf:id'], '96');
    assert.equal(get(system, 'OperatingSystemSection')['@vmw:osType'], 'debian12_64Guest');
    assert.equal(hardware['@ovf:transport'], 'iso com.vmware.guestInfo');
    assert.equal(get(hardware, 'System')['vssd:VirtualSystemType'], 'vmx-13');
    assert.deepEqual(byType(3).map((i) => i['rasd:VirtualQuantity']), ['2']);
    assert.deepEqual(byType(4).map((i) => [i['rasd:VirtualQuantity'], i['rasd:AllocationUnits']]), [['2048', 'byte * 2^20']]);
    assert.deepEqual(hardware['vmw:Config'], [{ '@ovf:required': 'false', '@vmw:key': 'firmware', '@vmw:value': 'bios' }]);
  });

  it('the disk on a ParaVirtual SCSI controller, a vmxnet3 NIC on "VM Network", an optional CD-ROM on IDE; nothing the cloud kernel cannot drive', () => {
    const [scsi] = byType(6);
    assert.equal(byType(6).length, 1);
    assert.equal(scsi!['rasd:ResourceSubType'], 'VirtualSCSI');
    assert.deepEqual(byType(17).map((d) => [d['rasd:Parent'], d['rasd:HostResource'], d['rasd:AddressOnParent']]), [[scsi!['rasd:InstanceID'], 'ovf:/disk/vmdisk1', '0']]);
    assert.deepEqual(byType(10).map((n) => [n['rasd:ResourceSubType'], n['rasd:Connection']]), [['VmxNet3', 'VM Network']]);
    const [ide] = byType(5);
    assert.deepEqual(byType(15).map((c) => [c['rasd:Parent'], c['@ovf:required']]), [[ide!['rasd:InstanceID'], 'false']]);
    assert.deepEqual(items.map((i) => i['rasd:ResourceType']).sort(), ['10', '15', '17', '3', '4', '5', '6']);
    assert.equal(new Set(items.map((i) => i['rasd:InstanceID'])).size, items.length, 'InstanceIDs are unique');
  });

  it('ProductSection (optional) with product, vendor, version and every appliance property with its attributes, label and description', () => {
    const product = get(system, 'ProductSection');
    assert.equal(product['@ovf:required'], 'false');
    assert.deepEqual([product.Product, product.Vendor, product.Version, product.FullVersion], ['PCG installer appliance', 'PCG', '1.2.3', '1.2.3']);
    const properties = list(product, 'Property');
    assert.equal(properties.length, APPLIANCE_PROPERTIES.length);
    for (const [i, p] of APPLIANCE_PROPERTIES.entries()) {
      const expected: Node = { '@ovf:key': p.key, '@ovf:type': p.type === 'password' ? 'string' : p.type === 'int' ? 'uint32' : 'string', '@ovf:userConfigurable': 'true', '@ovf:value': p.defaultValue, Label: p.label, Description: p.description };
      if (p.qualifiers) expected['@ovf:qualifiers'] = p.qualifiers;
      if (p.type === 'password') expected['@ovf:password'] = 'true';
      assert.deepEqual(properties[i], expected, p.key);
    }
    assert.equal(properties.find((p) => p['@ovf:key'] === 'pcg.network')!['@ovf:qualifiers'], 'ValueMap{"dhcp","static"}');
    assert.deepEqual(properties.filter((p) => p['@ovf:password'] === 'true').map((p) => p['@ovf:key']), ['pcg.pairingCode', 'pcg.setupToken']);
  });

  it('elements in order: Category before its properties, Label before Description, sections in OVF order', () => {
    const product = /<ProductSection[\s\S]*<\/ProductSection>/.exec(xml)![0];
    const sequence = [...product.matchAll(/<(Category)>([^<]*)<|<Property ovf:key="([^"]+)"/g)].map((m) => (m[1] ? `#${m[2]}` : m[3]));
    const expected: string[] = [];
    for (const category of [...new Set(APPLIANCE_PROPERTIES.map((p) => p.category))]) {
      expected.push(`#${category}`, ...APPLIANCE_PROPERTIES.filter((p) => p.category === category).map((p) => p.key));
    }
    assert.deepEqual(sequence, expected);
    assert.equal([...product.matchAll(/<Property [^>]*>\s*<Label>[^<]*<\/Label>\s*<Description>[^<]*<\/Description>\s*<\/Property>/g)].length, APPLIANCE_PROPERTIES.length);
    const sections = [...xml.matchAll(/<(References|DiskSection|NetworkSection|VirtualSystem|OperatingSystemSection|VirtualHardwareSection|ProductSection)[ >]/g)].map((m) => m[1]);
    assert.deepEqual(sections, ['References', 'DiskSection', 'NetworkSection', 'VirtualSystem', 'OperatingSystemSection', 'VirtualHardwareSection', 'ProductSection']);
  });

  it('escapes what it writes: markup characters in names, defaults, labels and descriptions come back unchanged', () => {
    const odd: ApplianceProperty = { key: 'x.odd', type: 'string', defaultValue: `a<b>&"c"'d'`, label: 'L & <M>', description: 'say "hi" & <bye>', category: 'Access', qualifiers: 'MaxLen(5)' };
    const text = buildOvfDescriptor({ ...INPUT, name: 'a&b<c>', version: '1 "q"', properties: [odd] });
    assert.equal(XMLValidator.validate(text), true);
    const parsed = parseOvfDescriptor(text);
    assert.equal(parsed.name, 'a&b<c>');
    assert.deepEqual(parsed.properties, [{ key: 'x.odd', type: 'string', qualifiers: 'MaxLen(5)', userConfigurable: true, password: false, defaultValue: `a<b>&"c"'d'`, label: 'L & <M>', description: 'say "hi" & <bye>', category: 'Access' }]);
  });

  it('parseOvfDescriptor reads back what deploy needs: references, networks, transports, every property', () => {
    const parsed = parseOvfDescriptor(xml);
    assert.deepEqual(parsed.references, [{ id: 'file1', href: 'pcg-installer-disk1.vmdk', size: 123_456_789 }]);
    assert.deepEqual(parsed.networks, ['VM Network']);
    assert.deepEqual(parsed.transport, ['iso', 'com.vmware.guestInfo']);
    assert.deepEqual(parsed.properties.map((p) => [p.key, p.defaultValue, p.category, p.password, p.label]),
      APPLIANCE_PROPERTIES.map((p) => [p.key, p.defaultValue, p.category, p.type === 'password', p.label]));
  });
});
