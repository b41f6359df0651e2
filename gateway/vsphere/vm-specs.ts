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
  /** @default false */
  readonly powerOn?: boolean;
}

export function cloneSpecXml(spec: CloneSpec): string {
  return raw('location', relocateSpecXml(spec.location)) + el('template', false) + raw('config', configSpecXml(spec.config)) + el('powerOn', spec.powerOn ?? false);
}
