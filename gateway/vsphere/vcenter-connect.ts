import { readFile, stat } from 'node:fs/promises';
import { PcgError } from '../../proto/errors.js';
import { Secret } from '../../proto/secret.js';
import type { VcenterConfig } from '../config/gateway-config.js';
import { readInventory } from './inventory.js';
import { normalizeThumbprint } from './tls-pinning.js';
import { VimSession } from './vim-session.js';

/** The password file must be the gateway's alone; its content is read once and kept wrapped. */
async function readPassword(path: string): Promise<Secret<string>> {
  let mode: number;
  try {
    mode = (await stat(path)).mode & 0o777;
  } catch (err) {
    throw new PcgError('PCG_ERR_CONFIG_INVALID', `vcenter.passwordFile: cannot read ${path}`, { cause: err });
  }
  if (mode & 0o077) throw new PcgError('PCG_ERR_CONFIG_INVALID', `vcenter.passwordFile: ${path} has mode ${mode.toString(8)}; make it 0600`);
  return new Secret((await readFile(path, 'utf8')).replace(/\r?\n$/, ''));
}

export async function connectVcenter(config: VcenterConfig): Promise<VimSession> {
  const password = await readPassword(config.passwordFile);
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
