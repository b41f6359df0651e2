import { PcgError } from '../../proto/errors.js';
import { readSecretFile } from '../../proto/secret-file.js';
import { APPLIANCE_PROPERTIES } from '../appliance/appliance-properties.js';
import { normalizeThumbprint, type VcenterTrust } from '../../gateway/vsphere/tls-pinning.js';
import { vcenterSdkUrl } from '../../gateway/vsphere/vcenter-address.js';
import { VimSession } from '../../gateway/vsphere/vim-session.js';
import { deployOva, propertyMapping } from './deploy-ova.js';
import { deployProgress } from './deploy-progress.js';
import { readOva } from './read-ova.js';
import { readPropFile } from './read-prop-file.js';

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
  /** File with property values (0600): JSON or key=value lines; where secrets go. */
  readonly propFile?: string;
}

/** The appliance's password-typed properties (pairing code, setup token): never taken from --prop. */
const SECRET_KEYS: ReadonlySet<string> = new Set(APPLIANCE_PROPERTIES.filter((p) => p.type === 'password').map((p) => p.key));

/**
 * `--prop k=v` pairs; the value may itself hold `=`. A password property is refused: the command
 * line is visible to every user of the machine (`ps`) and stays in shell history.
 */
export function parseProps(props: readonly string[] = []): Record<string, string> {
  const values = new Map<string, string>();
  for (const prop of props) {
    const at = prop.indexOf('=');
    // The value is not echoed: it may be the pairing code or the setup token.
    if (at <= 0) throw new PcgError('PCG_ERR_CONFIG_INVALID', `--prop ${at === 0 ? '(empty key)' : prop.slice(0, 40)}: want key=value`);
    const key = prop.slice(0, at);
    if (SECRET_KEYS.has(key)) throw secretOnCommandLine(key);
    if (values.has(key)) throw new PcgError('PCG_ERR_CONFIG_INVALID', `--prop ${key}: given twice`);
    values.set(key, prop.slice(at + 1));
  }
  return Object.fromEntries(values);
}

const secretOnCommandLine = (key: string): PcgError => new PcgError('PCG_ERR_CONFIG_INVALID',
  `--prop ${key}: a password property is not taken from the command line (ps and shell history show it); put it in a --prop-file of mode 0600`);

/** The --prop values and the --prop-file ones (a key in both is refused: which would win?), and where each came from. */
async function givenProperties(options: DeployOptions): Promise<{ values: Record<string, string>; onCommandLine: (key: string) => boolean; where: (key: string) => string }> {
  const flags = parseProps(options.prop);
  const file = options.propFile === undefined ? {} : await readPropFile(options.propFile);
  const both = Object.keys(flags).find((key) => Object.hasOwn(file, key));
  if (both !== undefined) throw new PcgError('PCG_ERR_CONFIG_INVALID', `${both}: given with --prop and in --prop-file ${options.propFile}; give it once`);
  const onCommandLine = (key: string): boolean => Object.hasOwn(flags, key);
  return { values: { ...flags, ...file }, onCommandLine, where: (key) => (onCommandLine(key) ? `--prop ${key}` : `--prop-file ${options.propFile}: ${key}`) };
}

/**
 * Imports the OVA into vCenter (see deployOva) and prints the new VM's name and reference on
 * stdout; progress goes to stderr. Secret property values (password-typed in the descriptor) are
 * scrubbed from any error message vCenter might echo them in.
 */
export async function deployCommand(ovaPath: string, options: DeployOptions): Promise<void> {
  const { values: properties, onCommandLine, where } = await givenProperties(options);
  const password = await readSecretFile(options.vcenterPasswordFile, '--vcenter-password-file');
  const trust: VcenterTrust = options.vcenterThumbprint ? { thumbprint: normalizeThumbprint(options.vcenterThumbprint) } : { caPem: null };
  const vcenterHost = vcenterSdkUrl(options.vcenterHost).host;
  // Verified before logging in: a damaged OVA should not cost a vCenter session.
  const ova = await readOva(ovaPath);
  // Another OVA's password properties are refused on the command line too.
  const exposed = ova.ovf.properties.find((p) => p.password && onCommandLine(p.key));
  if (exposed) throw secretOnCommandLine(exposed.key);
  propertyMapping(ova.ovf.properties, properties, where);
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
