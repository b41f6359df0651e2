import { readFile } from 'node:fs/promises';
import { PcgError } from '../../proto/errors.js';
import { readSecretFile } from '../../proto/secret-file.js';
import type { VcenterConfig } from '../config/gateway-config.js';
import { readInventory } from './inventory.js';
import { normalizeThumbprint } from './tls-pinning.js';
import { VimSession } from './vim-session.js';

export async function connectVcenter(config: VcenterConfig): Promise<VimSession> {
  const password = await readSecretFile(config.passwordFile, 'vcenter.passwordFile');
  const trust = config.thumbprint
    ? { thumbprint: normalizeThumbprint(config.thumbprint) }
    : { caPem: config.caFile ? await readFile(config.caFile, 'utf8').catch((err: unknown) => { throw new PcgError('PCG_ERR_CONFIG_INVALID', `vcenter.caFile: cannot read ${config.caFile}`, { cause: err }); }) : null };
  return VimSession.login({ host: config.host, user: config.user, password, trust });
}

export interface VcenterCheck {
  readonly ok: true;
  readonly version: string;
  readonly datacenters: readonly string[];
  readonly counts: { readonly vm: number; readonly host: number; readonly datastore: number; readonly network: number; readonly template: number };
}

/** `pcg-gateway vcenter check`: credentials, reachability, and an inventory summary. */
export async function checkVcenter(config: VcenterConfig): Promise<VcenterCheck> {
  const session = await connectVcenter(config);
  try {
    const inventory = await readInventory(session);
    const { vm, host, datastore, network, template } = inventory.counts;
    return {
      ok: true,
      version: session.content.about.version,
      datacenters: inventory.items.filter((i) => i.kind === 'datacenter').map((i) => i.name),
      counts: { vm, host, datastore, network, template },
    };
  } finally {
    await session.close();
  }
}
