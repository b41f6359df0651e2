import { APPLIANCE_PROPERTIES, type ApplianceProperty } from '../appliance/appliance-properties.js';
import { escapeXml } from '../../gateway/vsphere/soap-xml.js';

export interface OvfDescriptorInput {
  /** VM name proposed to vSphere, and the VirtualSystem id. */
  readonly name: string;
  /** Product version shown in the vSphere Client's deploy wizard. */
  readonly version: string;
  /** The vmdk's name inside the OVA (`ovf:href`). */
  readonly diskFile: string;
  /** Size of the vmdk file itself (`ovf:size` in References): what is uploaded. */
  readonly diskFileBytes?: number;
  /** Virtual disk size the guest sees. */
  readonly diskCapacityBytes: number;
  /** Bytes of the disk that hold data (a hint vSphere shows for thin provisioning). */
  readonly diskPopulatedBytes?: number;
  /** @default APPLIANCE_PROPERTIES */
  readonly properties?: readonly ApplianceProperty[];
}

/** The OVF 1.x namespaces, declared as vSphere's own exports declare them. */
export const OVF_NAMESPACES = {
  ovf: 'http://schemas.dmtf.org/ovf/envelope/1',
  cim: 'http://schemas.dmtf.org/wbem/wscim/1/common',
  rasd: 'http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData',
  vssd: 'http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_VirtualSystemSettingData',
  vmw: 'http://www.vmware.com/schema/ovf',
  xsi: 'http://www.w3.org/2001/XMLSchema-instance',
} as const;

export const STREAM_OPTIMIZED = 'http://www.vmware.com/interfaces/specifications/vmdk.html#streamOptimized';
export const OVF_NETWORK = 'VM Network';
/**
 * Both transports: `iso` attaches the OVF environment as a CD (the guest reads the disc labelled
 * "OVF ENV"), `com.vmware.guestInfo` hands it to open-vm-tools. Space-separated, as DSP0243 lists them.
 */
export const OVF_TRANSPORT = 'iso com.vmware.guestInfo';

const attrs = (pairs: Record<string, string | number | undefined>): string =>
  Object.entries(pairs).filter(([, v]) => v !== undefined).map(([k, v]) => ` ${k}="${escapeXml(String(v))}"`).join('');

const leaf = (name: string, value: string | number): string => `<${name}>${escapeXml(String(value))}</${name}>`;

/** A RASD Item: its elements in the alphabetical order the CIM schema declares them. */
function item(fields: Record<string, string | number | undefined>, required?: boolean): string {
  const body = Object.keys(fields).sort().filter((k) => fields[k] !== undefined).map((k) => `        ${leaf(`rasd:${k}`, fields[k]!)}`).join('\n');
  return `      <Item${required === false ? ' ovf:required="false"' : ''}>\n${body}\n      </Item>`;
}

/**
 * OVF `ovf:type` of a property. vApp `password` is an OVF string with `ovf:password="true"` (the
 * vSphere Client then masks it); vApp `int` is an OVF integer type.
 */
function ovfType(type: ApplianceProperty['type']): { type: string; password?: 'true' } {
  if (type === 'password') return { type: 'string', password: 'true' };
  if (type === 'int') return { type: 'uint32' };
  return { type: 'string' };
}

/**
 * Properties grouped under `<Category>` elements: in a ProductSection a Category titles the
 * properties that follow it, so each category is written once, before its properties.
 */
function productProperties(properties: readonly ApplianceProperty[]): string {
  const categories = [...new Set(properties.map((p) => p.category))];
  return categories.map((category) => [
    `      ${leaf('Category', category)}`,
    ...properties.filter((p) => p.category === category).map((p) => {
      const { type, password } = ovfType(p.type);
      return `      <Property${attrs({ 'ovf:key': p.key, 'ovf:type': type, 'ovf:qualifiers': p.qualifiers, 'ovf:userConfigurable': 'true', 'ovf:value': p.defaultValue, 'ovf:password': password })}>\n`
        + `        ${leaf('Label', p.label)}\n        ${leaf('Description', p.description)}\n      </Property>`;
    }),
  ].join('\n')).join('\n');
}

/**
 * The appliance's OVF descriptor. Hardware the Debian cloud kernel drives: a ParaVirtual SCSI
 * disk and a vmxnet3 NIC (it has no AHCI, LSI or e1000 drivers), BIOS firmware (syslinux). The IDE
 * CD-ROM is there for the `iso` transport: vSphere attaches the OVF environment to a CD drive the
 * VM already has, and refuses to power on a VM with iso transport and no CD drive.
 */
export function buildOvfDescriptor(input: OvfDescriptorInput): string {
  const { name, version, diskFile } = input;
  const properties = input.properties ?? APPLIANCE_PROPERTIES;
  const ns = Object.entries(OVF_NAMESPACES).map(([prefix, uri]) => ` xmlns:${prefix}="${uri}"`).join('');
  return `<?xml version="1.0" encoding="UTF-8"?>
<Envelope xmlns="${OVF_NAMESPACES.ovf}"${ns}>
  <References>
    <File${attrs({ 'ovf:href': diskFile, 'ovf:id': 'file1', 'ovf:size': input.diskFileBytes })}/>
  </References>
  <DiskSection>
    <Info>Virtual disk information</Info>
    <Disk${attrs({ 'ovf:capacity': input.diskCapacityBytes, 'ovf:capacityAllocationUnits': 'byte', 'ovf:diskId': 'vmdisk1', 'ovf:fileRef': 'file1', 'ovf:format': STREAM_OPTIMIZED, 'ovf:populatedSize': input.diskPopulatedBytes })}/>
  </DiskSection>
  <NetworkSection>
    <Info>The list of logical networks</Info>
    <Network${attrs({ 'ovf:name': OVF_NETWORK })}>
      <Description>The network the appliance's wizard and the gateway are reached on</Description>
    </Network>
  </NetworkSection>
  <VirtualSystem${attrs({ 'ovf:id': name })}>
    <Info>A virtual machine</Info>
    ${leaf('Name', name)}
    <OperatingSystemSection ovf:id="96" vmw:osType="debian12_64Guest">
      <Info>The kind of installed guest operating system</Info>
      <Description>Debian GNU/Linux 12 (64-bit)</Description>
    </OperatingSystemSection>
    <VirtualHardwareSection${attrs({ 'ovf:transport': OVF_TRANSPORT })}>
      <Info>Virtual hardware requirements</Info>
      <System>
        <vssd:ElementName>Virtual Hardware Family</vssd:ElementName>
        <vssd:InstanceID>0</vssd:InstanceID>
        ${leaf('vssd:VirtualSystemIdentifier', name)}
        <vssd:VirtualSystemType>vmx-13</vssd:VirtualSystemType>
      </System>
${item({ AllocationUnits: 'hertz * 10^6', Description: 'Number of Virtual CPUs', ElementName: '2 virtual CPU(s)', InstanceID: 1, ResourceType: 3, VirtualQuantity: 2 })}
${item({ AllocationUnits: 'byte * 2^20', Description: 'Memory Size', ElementName: '2048MB of memory', InstanceID: 2, ResourceType: 4, VirtualQuantity: 2048 })}
${item({ Address: 0, Description: 'SCSI Controller', ElementName: 'SCSI controller 0', InstanceID: 3, ResourceSubType: 'VirtualSCSI', ResourceType: 6 })}
${item({ Address: 0, Description: 'IDE Controller', ElementName: 'IDE 0', InstanceID: 4, ResourceType: 5 })}
${item({ AddressOnParent: 0, ElementName: 'Hard disk 1', HostResource: 'ovf:/disk/vmdisk1', InstanceID: 5, Parent: 3, ResourceType: 17 })}
${item({ AddressOnParent: 0, AutomaticAllocation: 'false', Description: 'CD-ROM for the OVF environment', ElementName: 'CD/DVD drive 1', InstanceID: 6, Parent: 4, ResourceSubType: 'vmware.cdrom.remotepassthrough', ResourceType: 15 }, false)}
${item({ AddressOnParent: 7, AutomaticAllocation: 'true', Connection: OVF_NETWORK, Description: `VmxNet3 ethernet adapter on "${OVF_NETWORK}"`, ElementName: 'Network adapter 1', InstanceID: 7, ResourceSubType: 'VmxNet3', ResourceType: 10 })}
      <vmw:Config ovf:required="false" vmw:key="firmware" vmw:value="bios"/>
    </VirtualHardwareSection>
    <ProductSection ovf:required="false">
      <Info>The appliance's settings, asked for when it is deployed</Info>
      <Product>PCG installer appliance</Product>
      <Vendor>PCG</Vendor>
      ${leaf('Version', version)}
      ${leaf('FullVersion', version)}
${productProperties(properties)}
    </ProductSection>
  </VirtualSystem>
</Envelope>
`;
}
