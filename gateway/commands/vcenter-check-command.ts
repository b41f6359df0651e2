import { PcgError } from '../../proto/errors.js';
import type { GatewayConfig } from '../config/gateway-config.js';
import { checkVcenter } from '../vsphere/vcenter-connect.js';

/** `pcg-gateway vcenter check`: address, TLS and credentials, then an inventory summary. */
export async function vcenterCheckCommand(config: GatewayConfig, options: { readonly json?: boolean }): Promise<void> {
  if (!config.vcenter) throw new PcgError('PCG_ERR_CONFIG_INVALID', 'vcenter.host: not set (--vcenter-host or PCG_VCENTER_HOST)');
  try {
    const result = await checkVcenter(config.vcenter);
    if (options.json) process.stdout.write(`${JSON.stringify(result)}\n`);
    else {
      const c = result.counts;
      process.stdout.write(`vCenter ${config.vcenter.host}: ok, version ${result.version}\n`
        + `datacenters: ${result.datacenters.join(', ')}\n`
        + `VMs ${c.vm}, templates ${c.template}, hosts ${c.host}, datastores ${c.datastore}, networks ${c.network}\n`);
    }
  } catch (err) {
    if (options.json && err instanceof PcgError) process.stdout.write(`${JSON.stringify({ ok: false, code: err.code, message: err.message })}\n`);
    throw err;
  }
}
