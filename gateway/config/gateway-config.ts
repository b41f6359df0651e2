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
  logLevel: { doc: 'Log level.', format: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], default: 'info', env: 'PCG_LOG_LEVEL', arg: 'log-level' },
};

export interface GatewayConfig {
  readonly stateDir: string;
  readonly relay: { readonly url: string; readonly caPin: string | null; readonly caFile: string | null };
  readonly backoff: { readonly initialMs: number; readonly maxMs: number };
  readonly connectTimeoutMs: number;
  readonly logLevel: string;
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
  });
}
