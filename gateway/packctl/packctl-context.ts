import { PcgError } from '../../proto/errors.js';
import { packctlConfigPath, readPackctlConfig, registryOrigin } from './packctl-config.js';
import { RegistryClient } from './registry-client.js';

/** Flags every registry command takes (on the root command). */
export interface PackctlGlobals {
  /** Registry to use instead of the default one from `packctl login --default`. */
  readonly registry?: string;
  /** PEM bundle to trust for this call (else the one saved at login, else the system CAs). */
  readonly caFile?: string;
  /** Skip certificate verification for this call. */
  readonly insecure?: boolean;
}

/**
 * The client for the chosen registry, with the credentials and trust saved by `packctl login`.
 * `scopes` are what a saved refresh token is traded for: `repository:packs/NAME:pull,push`.
 */
export async function openRegistry(globals: PackctlGlobals, scopes: readonly string[] = []): Promise<RegistryClient> {
  const config = await readPackctlConfig(packctlConfigPath());
  const chosen = globals.registry ?? config.default;
  if (!chosen) throw new PcgError('PCG_ERR_CONFIG_INVALID', "no registry: run 'packctl login HOST --default' or pass --registry HOST");
  const origin = registryOrigin(chosen);
  const login = config.registries[origin];
  const caFile = globals.caFile ?? login?.caFile;
  return new RegistryClient({
    origin,
    ...(caFile !== undefined ? { caFile } : {}),
    insecure: globals.insecure === true || login?.insecure === true,
    ...(login ? { username: login.username } : {}),
    ...(login?.password ? { password: login.password } : {}),
    ...(login?.refreshToken ? { refreshToken: login.refreshToken, scopes } : {}),
    ...(login?.realm !== undefined ? { realm: login.realm } : {}),
    ...(login?.service !== undefined ? { service: login.service } : {}),
  });
}

/** Runs `work` with the registry's client and closes it afterwards. */
export async function withRegistry<T>(globals: PackctlGlobals, scopes: readonly string[], work: (client: RegistryClient) => Promise<T>): Promise<T> {
  const client = await openRegistry(globals, scopes);
  try {
    return await work(client);
  } finally {
    await client.close();
  }
}

/** `NAME:REF` or `NAME@sha256:…` → name and reference (undefined when only NAME). */
export function parsePackReference(text: string, what = 'NAME[:TAG|@DIGEST]'): { readonly name: string; readonly reference: string | undefined } {
  const at = text.indexOf('@');
  const colon = text.indexOf(':');
  const split = at >= 0 ? at : colon;
  const name = split >= 0 ? text.slice(0, split) : text;
  const reference = split >= 0 ? text.slice(split + 1) : undefined;
  if (!/^[a-z0-9]([a-z0-9-]{0,62}[a-z0-9])?$/.test(name) || reference === '') {
    throw new PcgError('PCG_ERR_CONFIG_INVALID', `'${text}' is not ${what}`);
  }
  return { name, reference };
}

/** The token scope of `actions` on one pack's repository, or on every pack (`packs/*`) without a name. */
export function packScope(name: string | undefined, ...actions: readonly ('pull' | 'push' | 'delete')[]): string {
  return `repository:packs/${name ?? '*'}:${actions.join(',')}`;
}
