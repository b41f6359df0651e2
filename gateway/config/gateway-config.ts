import convict from 'convict';
import { parseDuration } from '../../proto/durations.js';
import { PcgError } from '../../proto/errors.js';
import { isCaPin } from '../../proto/ca-pin.js';

const duration = (key: string) => (value: unknown): void => {
  if (typeof value !== 'string') throw new Error('must be a duration string like 500ms, 15s or 2m');
  parseDuration(value, key);
};

/**
 * Gateway configuration: a JSON file (`--config`), `PCG_*` environment variables and flags, in
 * increasing precedence; unknown keys are errors (strict), and every error names its key.
 */
const SCHEMA = {
  stateDir: { doc: 'Directory holding identity, keys and status.', format: String, default: '/var/lib/pcg-gateway', env: 'PCG_STATE_DIR', arg: 'state-dir' },
  relay: {
    url: { doc: 'Relay base URL (https://host:port), used for pairing.', format: String, default: '', env: 'PCG_RELAY_URL', arg: 'relay' },
    caPin: {
      doc: 'Relay CA pin shown in the portal: sha256/<base64>.', format: (v: unknown) => {
        if (v !== '' && (typeof v !== 'string' || !isCaPin(v))) throw new Error('must look like sha256/<44 base64 characters>');
      }, default: '', env: 'PCG_RELAY_CA_PIN', arg: 'ca-pin',
    },
    caFile: { doc: 'Extra CA bundle (PEM), e.g. of a TLS-inspecting proxy.', format: String, default: '', env: 'PCG_RELAY_CA_FILE', arg: 'ca-file' },
  },
  backoff: {
    initial: { doc: 'First reconnect delay ceiling.', format: duration('backoff.initial'), default: '500ms', env: 'PCG_BACKOFF_INITIAL', arg: 'backoff-initial' },
    max: { doc: 'Largest reconnect delay ceiling.', format: duration('backoff.max'), default: '30s', env: 'PCG_BACKOFF_MAX', arg: 'backoff-max' },
  },
  connectTimeout: { doc: 'Deadline for connect plus handshake.', format: duration('connectTimeout'), default: '15s', env: 'PCG_CONNECT_TIMEOUT', arg: 'connect-timeout' },
  vcenter: {
    host: { doc: 'vCenter address: host, host:port, https://host/ or https://host/sdk.', format: String, default: '', env: 'PCG_VCENTER_HOST', arg: 'vcenter-host' },
    user: { doc: 'vCenter user, e.g. pcg@vsphere.local.', format: String, default: '', env: 'PCG_VCENTER_USER', arg: 'vcenter-user' },
    passwordFile: { doc: 'File holding the vCenter password (mode 0600).', format: String, default: '', env: 'PCG_VCENTER_PASSWORD_FILE', arg: 'vcenter-password-file' },
    thumbprint: { doc: "SHA-256 thumbprint of vCenter's certificate (AB:CD:…).", format: String, default: '', env: 'PCG_VCENTER_THUMBPRINT', arg: 'vcenter-thumbprint' },
    caFile: { doc: "CA bundle that signed vCenter's certificate.", format: String, default: '', env: 'PCG_VCENTER_CA_FILE', arg: 'vcenter-ca-file' },
  },
  logLevel: { doc: 'Log level.', format: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], default: 'info', env: 'PCG_LOG_LEVEL', arg: 'log-level' },
};

export interface GatewayConfig {
  readonly stateDir: string;
  readonly relay: { readonly url: string; readonly caPin: string | null; readonly caFile: string | null };
  readonly backoff: { readonly initialMs: number; readonly maxMs: number };
  readonly connectTimeoutMs: number;
  readonly logLevel: string;
  /** Null until vcenter.host is set. */
  readonly vcenter: VcenterConfig | null;
}

export interface VcenterConfig {
  readonly host: string;
  readonly user: string;
  readonly passwordFile: string;
  readonly thumbprint: string | null;
  readonly caFile: string | null;
}

/** Loads and validates; the result is frozen and complete, so nothing below re-checks defaults. */
export function loadGatewayConfig(args: string[], env: NodeJS.ProcessEnv, configFile?: string): GatewayConfig {
  const config = convict(SCHEMA, { args, env });
  try {
    if (configFile) config.loadFile(configFile);
    config.validate({ allowed: 'strict' });
  } catch (err) {
    throw new PcgError('PCG_ERR_CONFIG_INVALID', (err as Error).message.split('\n')[0]!.replace(/: value was .*$/, ''));
  }
  const get = <K extends Parameters<typeof config.get>[0]>(key: K) => config.get(key);
  const ms = (key: 'backoff.initial' | 'backoff.max' | 'connectTimeout'): number => parseDuration(String(get(key)), key);
  return Object.freeze({
    stateDir: get('stateDir'),
    relay: Object.freeze({ url: get('relay.url'), caPin: get('relay.caPin') || null, caFile: get('relay.caFile') || null }),
    backoff: Object.freeze({ initialMs: ms('backoff.initial'), maxMs: ms('backoff.max') }),
    connectTimeoutMs: ms('connectTimeout'),
    logLevel: get('logLevel'),
    vcenter: vcenterFrom(get('vcenter.host'), get('vcenter.user'), get('vcenter.passwordFile'), get('vcenter.thumbprint'), get('vcenter.caFile')),
  });
}

function vcenterFrom(host: string, user: string, passwordFile: string, thumbprint: string, caFile: string): VcenterConfig | null {
  if (!host) return null;
  if (!user) throw new PcgError('PCG_ERR_CONFIG_INVALID', 'vcenter.user: required when vcenter.host is set');
  if (!passwordFile) throw new PcgError('PCG_ERR_CONFIG_INVALID', 'vcenter.passwordFile: required when vcenter.host is set');
  if (thumbprint && caFile) throw new PcgError('PCG_ERR_CONFIG_INVALID', 'vcenter.thumbprint and vcenter.caFile: set one, not both');
  return Object.freeze({ host, user, passwordFile, thumbprint: thumbprint || null, caFile: caFile || null });
}
