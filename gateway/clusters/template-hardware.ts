import { PcgError } from '../../proto/errors.js';
import type { NodeSpec } from '../../proto/schemas/jobs.js';
import { retrieveProperties, singleObjectSpec } from '../vsphere/property-collector.js';
import { el, moRef, text, toArray, xsiType, type MoRef } from '../vsphere/soap-xml.js';
import type { VimSession } from '../vsphere/vim-session.js';
import { nicBackingXml, type DeviceEdit, type NicBacking, type ReportedDevice } from '../vsphere/vm-specs.js';
import type { ResolvedPlacement } from './placement-resolver.js';

/** What every clone of one job changes on the template's devices, read once per job. */
export interface TemplateHardware {
  /** The template's first virtual ethernet card, and the backing that puts it on the placement network. */
  readonly nic: { readonly device: ReportedDevice; readonly backing: NicBacking };
  /** The template's first virtual disk and its size in KiB. */
  readonly disk: { readonly device: ReportedDevice; readonly capacityKiB: number };
}

/** Every vim25 virtual ethernet card type (subtypes of VirtualEthernetCard). */
const ETHERNET_TYPES = new Set(['VirtualE1000', 'VirtualE1000e', 'VirtualPCNet32', 'VirtualVmxnet', 'VirtualVmxnet2', 'VirtualVmxnet3', 'VirtualVmxnet3Vrdma', 'VirtualSriovEthernetCard']);
const KIB_PER_GIB = 1024 * 1024;

/**
 * Reads the template's devices (config.hardware.device) and, for a distributed portgroup, its key
 * and switch, in one RetrievePropertiesEx (and one more for the switch's UUID): per job, never per
 * node. An opaque network (NSX-T segment) is refused: its backing needs the NSX logical switch id.
 */
export async function readTemplateHardware(session: Pick<VimSession, 'call' | 'content'>, placement: Pick<ResolvedPlacement, 'template' | 'network'>): Promise<TemplateHardware> {
  const { template, network } = placement;
  if (network.ref.type === 'OpaqueNetwork') {
    throw new PcgError('PCG_ERR_NETWORK_UNSUPPORTED', `network "${network.name}" is an opaque (NSX) network; pick a standard or distributed portgroup`);
  }
  const distributed = network.ref.type === 'DistributedVirtualPortgroup';
  const objects = await retrieveProperties(session, [
    { type: 'VirtualMachine', paths: ['config.hardware.device'] },
    ...(distributed ? [{ type: 'DistributedVirtualPortgroup', paths: ['key', 'config.distributedVirtualSwitch'] }] : []),
  ], singleObjectSpec(template.ref) + (distributed ? singleObjectSpec(network.ref) : ''));
  const vm = objects.find((o) => o.obj.value === template.ref.value && o.obj.type === 'VirtualMachine');
  const devices = toArray((vm?.props['config.hardware.device'] as { VirtualDevice?: unknown } | undefined)?.VirtualDevice as Array<Record<string, unknown>> | undefined)
    .map((node): ReportedDevice => ({ type: xsiType(node) ?? '', key: Number(text(node.key)), node }));
  const nic = devices.find((d) => ETHERNET_TYPES.has(d.type));
  const disk = devices.find((d) => d.type === 'VirtualDisk');
  const missing = [nic ? '' : 'a network adapter', disk ? '' : 'a disk'].filter(Boolean);
  if (!nic || !disk) throw new PcgError('PCG_ERR_TEMPLATE_INVALID', `template "${template.name}" has no ${missing.join(' and no ')}; a node needs both`);
  let backing: NicBacking;
  if (distributed) {
    const pg = objects.find((o) => o.obj.value === network.ref.value && o.obj.type === 'DistributedVirtualPortgroup');
    const dvs = pg?.props['config.distributedVirtualSwitch'];
    if (!pg || !dvs) throw new PcgError('PCG_ERR_PLACEMENT_UNKNOWN', `distributed portgroup "${network.name}" has no switch`);
    backing = { kind: 'distributed', switchUuid: await switchUuid(session, moRef(dvs)), portgroupKey: text(pg.props.key) };
  } else {
    // deviceName is the network's name as vCenter spells it (escaped, as the path's last part).
    backing = { kind: 'network', deviceName: network.path.slice(network.path.lastIndexOf('/') + 1), network: network.ref };
  }
  return { nic: { device: nic, backing }, disk: { device: disk, capacityKiB: diskKiB(disk) } };
}

async function switchUuid(session: Pick<VimSession, 'call' | 'content'>, dvs: MoRef): Promise<string> {
  // The switch's concrete type (VmwareDistributedVirtualSwitch) is what the collector matches on.
  const [found] = await retrieveProperties(session, [{ type: dvs.type, paths: ['uuid'] }], singleObjectSpec(dvs));
  const uuid = text(found?.props.uuid);
  if (!uuid) throw new PcgError('PCG_ERR_VCENTER_FAULT', `distributed switch ${dvs.value} reported no uuid`);
  return uuid;
}

/** capacityInBytes when vCenter reports it (6.7+), else capacityInKB. */
function diskKiB(disk: ReportedDevice): number {
  const bytes = Number(text(disk.node.capacityInBytes));
  return bytes > 0 ? Math.ceil(bytes / 1024) : Number(text(disk.node.capacityInKB));
}

/**
 * The clone's device edits for one node: its NIC onto the placement network, its first disk grown
 * to diskGiB. A disk is never shrunk (vSphere refuses, and the guest's file system would not fit):
 * a template disk larger than diskGiB is kept, and `kept` says so for a warning.
 */
export function nodeDeviceEdits(hardware: TemplateHardware, node: Pick<NodeSpec, 'diskGiB'>): { readonly edits: DeviceEdit[]; readonly kept?: { readonly templateGiB: number } } {
  const edits: DeviceEdit[] = [{ device: hardware.nic.device, set: [{ name: 'backing', xml: nicBackingXml(hardware.nic.backing), after: ['deviceInfo', 'key'] }] }];
  const wanted = node.diskGiB * KIB_PER_GIB;
  if (wanted > hardware.disk.capacityKiB) {
    edits.push({
      device: hardware.disk.device,
      set: [
        { name: 'capacityInKB', xml: el('capacityInKB', wanted), after: ['unitNumber', 'controllerKey', 'backing'] },
        // Both sizes: vCenter 6.7+ reads capacityInBytes when set, older ones capacityInKB.
        { name: 'capacityInBytes', xml: el('capacityInBytes', wanted * 1024), after: ['capacityInKB'] },
      ],
    });
    return { edits };
  }
  return wanted < hardware.disk.capacityKiB ? { edits, kept: { templateGiB: Math.round((hardware.disk.capacityKiB / KIB_PER_GIB) * 100) / 100 } } : { edits };
}
