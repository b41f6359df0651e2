import { mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { writeFileAtomic } from '../../proto/atomic-file.js';
import type { ProxySettings, VcenterSettings } from './setup-settings.js';

export interface GatewayFilesInput {
  readonly configFile: string;
  readonly stateDir: string;
  /** Normalised, as paired. */
  readonly relayUrl: string;
  readonly caPin: string | undefined;
  readonly proxy: ProxySettings | undefined;
  readonly vcenter: (VcenterSettings & { readonly thumbprint: string }) | undefined;
}

export interface GatewayFiles {
  readonly configFile: string;
  /** HTTPS_PROXY / NO_PROXY for the gateway process; the systemd unit reads envFile. */
  readonly env: Readonly<Record<string, string>>;
  readonly envFile: string;
  readonly passwordFile: string | undefined;
  readonly proxyCaFile: string | undefined;
}

/** Names of the files written next to the configuration file (/etc/pcg/ on the appliance). */
export const GATEWAY_FILE_NAMES = Object.freeze({ env: 'gateway.env', password: 'vcenter.password', proxyCa: 'proxy-ca.pem' });

/**
 * Writes what `pcg-gateway run --config FILE` needs, each file atomically: the JSON configuration
 * (keys of gateway/config/gateway-config.ts), the vCenter password (0600, next to it), the proxy's
 * CA, and gateway.env with HTTPS_PROXY/NO_PROXY, which the gateway reads from its environment
 * only. The configuration goes last: a file that exists names only files that exist.
 */
export async function writeGatewayFiles(input: GatewayFilesInput): Promise<GatewayFiles> {
  const dir = dirname(input.configFile);
  await mkdir(dir, { recursive: true, mode: 0o755 });
  const envFile = join(dir, GATEWAY_FILE_NAMES.env);
  const env: Record<string, string> = {};
  if (input.proxy?.httpsProxy) env.HTTPS_PROXY = input.proxy.httpsProxy.trim();
  if (input.proxy?.noProxy?.trim()) env.NO_PROXY = input.proxy.noProxy.trim();
  // 0600: a proxy URL may carry a user and password.
  await writeFileAtomic(envFile, Object.entries(env).map(([k, v]) => `${k}=${quoteEnv(v)}\n`).join(''), 0o600);
  let proxyCaFile: string | undefined;
  if (input.proxy?.proxyCaPem?.trim()) {
    proxyCaFile = join(dir, GATEWAY_FILE_NAMES.proxyCa);
    await writeFileAtomic(proxyCaFile, `${input.proxy.proxyCaPem.trim()}\n`, 0o644);
  }
  let passwordFile: string | undefined;
  if (input.vcenter) {
    passwordFile = join(dir, GATEWAY_FILE_NAMES.password);
    await writeFileAtomic(passwordFile, input.vcenter.password, 0o600);
  }
  const config = {
    stateDir: input.stateDir,
    relay: { url: input.relayUrl, caPin: input.caPin ?? '', caFile: proxyCaFile ?? '' },
    ...(input.vcenter && passwordFile ? {
      vcenter: { host: input.vcenter.host.trim(), user: input.vcenter.user, passwordFile, thumbprint: input.vcenter.thumbprint },
    } : {}),
  };
  await writeFileAtomic(input.configFile, `${JSON.stringify(config, null, 2)}\n`, 0o600);
  return { configFile: input.configFile, env, envFile, passwordFile, proxyCaFile };
}

/** systemd EnvironmentFile quoting: double quotes, backslash and quote escaped. */
function quoteEnv(value: string): string {
  return `"${value.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}
