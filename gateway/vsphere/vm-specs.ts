/**
 * VM specs written in the element order of the vim25 WSDL (VirtualMachineConfigSpec,
 * VirtualMachineRelocateSpec, VirtualMachineCloneSpec): a real vCenter rejects any other order.
 */
import { el, escapeXml, raw, text, xsiType, type MoRef } from './soap-xml.js';

export interface ConfigSpec {
  readonly name?: string;
  /** The instance UUID we derive from (cluster, node): how a VM is found again after a crash. */
  readonly instanceUuid?: string;
  readonly numCPUs?: number;
  readonly memoryMB?: number;
  /** Edits of existing devices (a clone: the source's devices, by key). */
  readonly deviceChange?: readonly DeviceEdit[];
  /** e.g. guestinfo.metadata / guestinfo.userdata (base64 cloud-init). */
  readonly extraConfig?: Readonly<Record<string, string>>;
}

export function configSpecXml(spec: ConfigSpec): string {
  const extra = Object.entries(spec.extraConfig ?? {})
    .map(([key, value]) => raw('extraConfig', el('key', key) + el('value', value, 'xsd:string')))
    .join('');
  // VirtualMachineConfigSpec: … numCPUs, numCoresPerSocket, memoryMB, …, deviceChange, …, extraConfig.
  const devices = (spec.deviceChange ?? []).map(deviceEditXml).join('');
  return el('name', spec.name) + el('instanceUuid', spec.instanceUuid) + el('numCPUs', spec.numCPUs) + el('memoryMB', spec.memoryMB) + devices + extra;
}

/** A virtual device as vCenter reported it (one `config.hardware.device` entry, as parsed). */
export interface ReportedDevice {
  /** Its xsi:type: VirtualVmxnet3, VirtualE1000, VirtualDisk, … */
  readonly type: string;
  readonly key: number;
  /** The parsed element: its children in the order vCenter wrote them, which is the WSDL's. */
  readonly node: Readonly<Record<string, unknown>>;
}

/** One child of a device set to new XML: replaced where it is, else inserted after the last of `after` present. */
export interface DeviceChild {
  readonly name: string;
  /** The whole element (`<capacityInKB>…</capacityInKB>`). */
  readonly xml: string;
  readonly after: readonly string[];
}

/**
 * An `edit` of an existing device: vCenter (and vcsim, which replaces the device with what it is
 * sent) wants the whole device back, so the reported one is echoed with only `set` changed, as
 * govc and Cluster API do with the device objects they read.
 */
export interface DeviceEdit {
  readonly device: ReportedDevice;
  readonly set: readonly DeviceChild[];
}

/** VirtualDeviceConfigSpec: operation, fileOperation, device, … — no fileOperation: the disk file stays. */
export function deviceEditXml(edit: DeviceEdit): string {
  const children = Object.keys(edit.device.node).filter((k) => !k.startsWith('@_') && k !== '#text')
    .map((name) => ({ name, xml: reportedXml(name, edit.device.node[name]) }));
  for (const change of edit.set) {
    const at = children.findIndex((c) => c.name === change.name);
    if (at >= 0) {
      children[at] = change;
      continue;
    }
    const anchor = Math.max(...change.after.map((a) => children.findIndex((c) => c.name === a)));
    children.splice(anchor + 1, 0, change);
  }
  return raw('deviceChange', el('operation', 'edit') + raw('device', children.map((c) => c.xml).join(''), edit.device.type), 'VirtualDeviceConfigSpec');
}

/** A parsed response value written back as request XML: morefs, xsi:types, text and order kept. */
export function reportedXml(name: string, value: unknown): string {
  if (Array.isArray(value)) return value.map((v) => reportedXml(name, v)).join('');
  // parseTagValue is off: leaves are strings ('' for an empty element).
  if (typeof value === 'string') return `<${name}>${escapeXml(value)}</${name}>`;
  if (value === null || typeof value !== 'object') return `<${name}></${name}>`;
  const node = value as Record<string, unknown>;
  const type = xsiType(node);
  if (typeof node['@_type'] === 'string') return el(name, { type: node['@_type'], value: text(node) }, type);
  if ('#text' in node) return el(name, text(node), type);
  const inner = Object.keys(node).filter((k) => !k.startsWith('@_')).map((k) => reportedXml(k, node[k])).join('');
  return raw(name, inner, type);
}

/** Where a NIC connects: a standard portgroup (Network) or a distributed one (by switch UUID and portgroup key). */
export type NicBacking =
  | { readonly kind: 'network'; readonly deviceName: string; readonly network: MoRef }
  | { readonly kind: 'distributed'; readonly switchUuid: string; readonly portgroupKey: string };

/**
 * The `backing` of a virtual ethernet card: VirtualEthernetCardNetworkBackingInfo (deviceName,
 * useAutoDetect, network) or VirtualEthernetCardDistributedVirtualPortBackingInfo (port:
 * switchUuid, portgroupKey, portKey, connectionCookie) — in WSDL order.
 */
export function nicBackingXml(backing: NicBacking): string {
  return backing.kind === 'network'
    ? raw('backing', el('deviceName', backing.deviceName) + el('network', backing.network), 'VirtualEthernetCardNetworkBackingInfo')
    : raw('backing', raw('port', el('switchUuid', backing.switchUuid) + el('portgroupKey', backing.portgroupKey)), 'VirtualEthernetCardDistributedVirtualPortBackingInfo');
}

export interface RelocateSpec {
  readonly folder?: MoRef;
  readonly datastore?: MoRef;
  readonly pool?: MoRef;
  readonly host?: MoRef;
}

export function relocateSpecXml(spec: RelocateSpec): string {
  return el('folder', spec.folder) + el('datastore', spec.datastore) + el('pool', spec.pool) + el('host', spec.host);
}

export interface CloneSpec {
  readonly location: RelocateSpec;
  readonly config: ConfigSpec;
  /** Guest customization applied by the clone task itself (else CustomizeVM_Task later). */
  readonly customization?: LinuxCustomization;
  /** @default false */
  readonly powerOn?: boolean;
}

export function cloneSpecXml(spec: CloneSpec): string {
  const customization = spec.customization ? raw('customization', customizationSpecXml(spec.customization)) : '';
  return raw('location', relocateSpecXml(spec.location)) + el('template', false) + raw('config', configSpecXml(spec.config)) + customization + el('powerOn', spec.powerOn ?? false);
}

/** Static guest networking for a Linux clone (CustomizeVM_Task), one entry per NIC in device order. */
export interface LinuxCustomization {
  readonly hostName: string;
  readonly domain: string;
  readonly nics: ReadonlyArray<{ readonly ip: string; readonly subnetMask: string; readonly gateways?: readonly string[] }>;
  readonly dnsServers?: readonly string[];
  readonly dnsSuffixes?: readonly string[];
}

/** CustomizationSpec: identity (LinuxPrep), globalIPSettings, nicSettingMap — polymorphic parts typed. */
export function customizationSpecXml(c: LinuxCustomization): string {
  const identity = raw('identity', raw('hostName', el('name', c.hostName), 'CustomizationFixedName') + el('domain', c.domain) + el('hwClockUTC', true), 'CustomizationLinuxPrep');
  const global = raw('globalIPSettings', (c.dnsSuffixes ?? []).map((d) => el('dnsSuffixList', d)).join('') + (c.dnsServers ?? []).map((d) => el('dnsServerList', d)).join(''));
  const nics = c.nics.map((nic) => raw('nicSettingMap', raw('adapter',
    raw('ip', el('ipAddress', nic.ip), 'CustomizationFixedIp') + el('subnetMask', nic.subnetMask) + (nic.gateways ?? []).map((g) => el('gateway', g)).join('')))).join('');
  return identity + global + nics;
}
