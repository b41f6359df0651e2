/**
 * packctl's credentials file: `$XDG_CONFIG_HOME/pcg/packctl.json` (else `~/.config/pcg/packctl.json`),
 * 0600 in a 0700 folder, written atomically. One entry per registry origin, and which one is the
 * default. A registry that issues a long-lived token (the distribution token spec's offline
 * `refresh_token`) gets that token stored and never the password; its short-lived access tokens
 * are fetched per command. Other registries get the password (as docker does without a helper).
 *
 *   { "default": "https://gw:8443", "registries": { "https://gw:8443": { "username": "ops",
 *     "refreshToken": "…", "realm": "https://gw:8443/v2/token", "service": "…" | "password": "…",
 *     "caFile": "/abs/ca.pem", "insecure": false } } }
 */
import { mkdir, readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { writeFileAtomic } from '../../proto/atomic-file.js';
import { PcgError } from '../../proto/errors.js';
import { Secret } from '../../proto/secret.js';

export interface RegistryLogin {
  readonly username: string;
  /** Kept only when the registry gives no refresh token. */
  readonly password?: Secret;
  /** The offline token, traded at `realm` for access tokens. */
  readonly refreshToken?: Secret;
  readonly realm?: string;
  readonly service?: string;
  readonly caFile?: string;
  readonly insecure?: boolean;
}

export interface PackctlConfig {
  readonly default: string | null;
  readonly registries: Readonly<Record<string, RegistryLogin>>;
}

interface StoredLogin {
  username: string;
  password?: string;
  refreshToken?: string;
  realm?: string;
  service?: string;
  caFile?: string;
  insecure?: boolean;
}

/** Where the file lives, from the environment (XDG base directory spec). */
export function packctlConfigPath(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_CONFIG_HOME && env.XDG_CONFIG_HOME.startsWith('/') ? env.XDG_CONFIG_HOME : join(homedir(), '.config');
  return join(base, 'pcg', 'packctl.json');
}

export async function readPackctlConfig(path: string): Promise<PackctlConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { default: null, registries: {} };
    throw new PcgError('PCG_ERR_CONFIG_INVALID', `cannot read ${path}: ${(err as Error).message}`, { cause: err });
  }
  try {
    const raw = JSON.parse(text) as { default?: string | null; registries?: Record<string, StoredLogin> };
    const registries: Record<string, RegistryLogin> = {};
    for (const [origin, login] of Object.entries(raw.registries ?? {})) {
      registries[origin] = {
        username: login.username,
        ...(login.password !== undefined ? { password: new Secret(login.password) } : {}),
        ...(login.refreshToken !== undefined ? { refreshToken: new Secret(login.refreshToken) } : {}),
        ...(login.realm !== undefined ? { realm: login.realm } : {}),
        ...(login.service !== undefined ? { service: login.service } : {}),
        ...(login.caFile !== undefined ? { caFile: login.caFile } : {}),
        ...(login.insecure !== undefined ? { insecure: login.insecure } : {}),
      };
    }
    return { default: raw.default ?? null, registries };
  } catch (err) {
    throw new PcgError('PCG_ERR_CONFIG_INVALID', `${path} is not packctl's JSON; remove it and log in again`, { cause: err });
  }
}

/** Writes the file 0600 (its folder 0700): it holds passwords or tokens. */
export async function writePackctlConfig(path: string, config: PackctlConfig): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const registries: Record<string, StoredLogin> = {};
  for (const [origin, login] of Object.entries(config.registries)) {
    registries[origin] = {
      username: login.username,
      ...(login.refreshToken ? { refreshToken: login.refreshToken.reveal(), realm: login.realm, service: login.service } : login.password ? { password: login.password.reveal() } : {}),
      ...(login.caFile !== undefined ? { caFile: login.caFile } : {}),
      ...(login.insecure ? { insecure: true } : {}),
    };
  }
  // A new file each time (temp + rename), so an older 0644 file made by hand is replaced by a 0600 one.
  await writeFileAtomic(path, `${JSON.stringify({ default: config.default, registries }, null, 2)}\n`, 0o600);
}

/** `host:port`, `https://host:port/` → `https://host:port`: the key of a registry. */
export function registryOrigin(host: string): string {
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(host) ? host : `https://${host}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw new PcgError('PCG_ERR_CONFIG_INVALID', `'${host}' is not a registry address like gateway.example:8443`);
  }
  if (url.protocol !== 'https:') throw new PcgError('PCG_ERR_CONFIG_INVALID', `registries are reached over https only, not ${url.protocol}`);
  return url.origin;
}
