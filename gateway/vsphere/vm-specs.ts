/**
 * VM specs written in the element order of the vim25 WSDL (VirtualMachineConfigSpec,
 * VirtualMachineRelocateSpec, VirtualMachineCloneSpec): a real vCenter rejects any other order.
 */
import { el, raw, type MoRef } from './soap-xml.js';

export interface ConfigSpec {
  readonly name?: string;
  /** The instance UUID we derive from (cluster, node): how a VM is found again after a crash. */
  readonly instanceUuid?: string;
  readonly numCPUs?: number;
  readonly memoryMB?: number;
  /** e.g. guestinfo.metadata / guestinfo.userdata (base64 cloud-init). */
  readonly extraConfig?: Readonly<Record<string, string>>;
}

export function configSpecXml(spec: ConfigSpec): string {
  const extra = Object.entries(spec.extraConfig ?? {})
    .map(([key, value]) => raw('extraConfig', el('key', key) + el('value', value, 'xsd:string')))
    .join('');
  return el('name', spec.name) + el('instanceUuid', spec.instanceUuid) + el('numCPUs', spec.numCPUs) + el('memoryMB', spec.memoryMB) + extra;
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
