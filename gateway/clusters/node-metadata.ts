import type { NodeSpec } from '../../proto/schemas/jobs.js';
import type { NodeIdentity } from './node-identity.js';

/**
 * cloud-init's VMware datasource metadata (guestinfo.metadata), as 22.4 reads it
 * (DataSourceVMware.process_metadata): `instance-id`, `local-hostname`, and under `network` a
 * network config whose mapping is used as is (`{version: 2, ethernets: …}`). Without `network`
 * the datasource falls back to DHCP on the first NIC, which is what a DHCP node wants.
 */
export function nodeMetadata(identity: NodeIdentity): Record<string, unknown> {
  const metadata: Record<string, unknown> = { 'instance-id': identity.instanceUuid, 'local-hostname': identity.vmName };
  const address = identity.node.address;
  if (address) metadata.network = staticNetwork(address);
  return metadata;
}

function staticNetwork(address: NonNullable<NodeSpec['address']>): Record<string, unknown> {
  const nic: Record<string, unknown> = {
    // Templates name their one NIC differently (ens192 with vmxnet3 on Ubuntu, eth0 elsewhere):
    // match any ethernet name; a clone has exactly the template's single NIC.
    match: { name: 'e*' },
    addresses: [`${address.ip}/${address.prefix}`],
  };
  // gateway4 rather than routes: every 22.4 renderer (netplan, eni, sysconfig, networkd) reads it.
  if (address.gateway) nic.gateway4 = address.gateway;
  if (address.dns.length > 0 || address.searchDomains.length > 0) {
    nic.nameservers = { addresses: [...address.dns], search: [...address.searchDomains] };
  }
  return { version: 2, ethernets: { nic0: nic } };
}
