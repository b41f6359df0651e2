import { PcgError } from '../../proto/errors.js';
import { readSecretFile } from '../../proto/secret-file.js';
import { normalizeThumbprint, type VcenterTrust } from '../../gateway/vsphere/tls-pinning.js';
import { vcenterSdkUrl } from '../../gateway/vsphere/vcenter-address.js';
import { VimSession } from '../../gateway/vsphere/vim-session.js';
import { deployOva, propertyMapping } from './deploy-ova.js';
import { deployProgress } from './deploy-progress.js';
import { readOva } from './read-ova.js';

/** `pcg-installer deploy` options, as commander parses them (see cli.ts). */
export interface DeployOptions {
  readonly vcenterHost: string;
  readonly vcenterUser: string;
  readonly vcenterPasswordFile: string;
  readonly vcenterThumbprint?: string;
  readonly datacenter: string;
  readonly cluster?: string;
  readonly datastore?: string;
  readonly network?: string;
  readonly folder?: string;
  readonly name: string;
  readonly prop?: string[];
}

/** `--prop k=v` pairs; the value may itself hold `=`. */
export function parseProps(props: readonly string[] = []): Record<string, string> {
  const values: Record<string, string> = {};
  for (const prop of props) {
    const at = prop.indexOf('=');
    // The value is not echoed: it may be the pairing code or the setup token.
    if (at <= 0) throw new PcgError('PCG_ERR_CONFIG_INVALID', `--prop ${at === 0 ? '(empty key)' : prop.slice(0, 40)}: want key=value`);
    const key = prop.slice(0, at);
    if (key in values) throw new PcgError('PCG_ERR_CONFIG_INVALID', `--prop ${key}: given twice`);
    values[key] = prop.slice(at + 1);
  }
  return values;
}

/**
 * Imports the OVA into vCenter (see deployOva) and prints the new VM's name and reference on
 * stdout; progress goes to stderr. Secret property values (password-typed in the descriptor) are
 * scrubbed from any error message vCenter might echo them in.
 */
export async function deployCommand(ovaPath: string, options: DeployOptions): Promise<void> {
  const properties = parseProps(options.prop);
  const password = await readSecretFile(options.vcenterPasswordFile, '--vcenter-password-file');
  const trust: VcenterTrust = options.vcenterThumbprint ? { thumbprint: normalizeThumbprint(options.vcenterThumbprint) } : { caPem: null };
  const vcenterHost = vcenterSdkUrl(options.vcenterHost).host;
  // Verified before logging in: a damaged OVA should not cost a vCenter session.
  const ova = await readOva(ovaPath);
  propertyMapping(ova.ovf.properties, properties);
  const secrets = ova.ovf.properties.filter((p) => p.password).map((p) => properties[p.key]).filter((v): v is string => !!v);
  const session = await VimSession.login({ host: options.vcenterHost, user: options.vcenterUser, password, trust });
  try {
    const result = await deployOva({
      ovaPath, ova, session, vcenterHost, trust, name: options.name, properties, onEvent: deployProgress(),
      placement: { datacenter: options.datacenter, cluster: options.cluster, datastore: options.datastore, network: options.network, folder: options.folder },
    });
    process.stdout.write(`deployed ${options.name}: ${result.vm.type} ${result.vm.value}, ${result.uploadedBytes} bytes uploaded\n`);
  } catch (err) {
    if (!(err instanceof PcgError) || !secrets.some((s) => err.message.includes(s))) throw err;
    const scrubbed = secrets.reduce((message, s) => message.split(s).join('[redacted]'), err.message);
    throw new PcgError(err.code, scrubbed);
  } finally {
    await session.close().catch(() => undefined);
  }
}
