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
  https: {
    host: { doc: "Address of the gateway's HTTPS server (node phone-home, pack registry).", format: String, default: '0.0.0.0', env: 'PCG_HTTPS_HOST', arg: 'https-host' },
    port: { doc: 'Port of the HTTPS server; 0 picks a free port.', format: 'port', default: 8443, env: 'PCG_HTTPS_PORT', arg: 'https-port' },
    publicUrl: { doc: 'URL nodes dial to reach the gateway (https://name:port); derived from host and port when empty.', format: String, default: '', env: 'PCG_HTTPS_PUBLIC_URL', arg: 'https-public-url' },
    certFile: { doc: 'PEM certificate chain to serve instead of the generated one.', format: String, default: '', env: 'PCG_HTTPS_CERT_FILE', arg: 'https-cert-file' },
    keyFile: { doc: 'PEM private key of https.certFile (mode 0600).', format: String, default: '', env: 'PCG_HTTPS_KEY_FILE', arg: 'https-key-file' },
  },
  jobs: {
    maxConcurrent: { doc: 'Cluster jobs executed at once; the rest wait in arrival order.', format: 'nat', default: 4, env: 'PCG_JOBS_MAX_CONCURRENT', arg: 'jobs-max-concurrent' },
    driftCheckInterval: { doc: 'How often built clusters are checked for VMs removed by hand.', format: duration('jobs.driftCheckInterval'), default: '60s', env: 'PCG_JOBS_DRIFT_CHECK_INTERVAL', arg: 'jobs-drift-check-interval' },
    nodeReadyTimeout: { doc: 'How long a job waits for a node to phone home.', format: duration('jobs.nodeReadyTimeout'), default: '15m', env: 'PCG_JOBS_NODE_READY_TIMEOUT', arg: 'jobs-node-ready-timeout' },
    cloneConcurrency: { doc: 'VM clones one job runs at once.', format: 'nat', default: 8, env: 'PCG_JOBS_CLONE_CONCURRENCY', arg: 'jobs-clone-concurrency' },
    retryLimit: { doc: 'Times a job runs again after vCenter was unreachable or lost its session; 0 never.', format: 'nat', default: 5, env: 'PCG_JOBS_RETRY_LIMIT', arg: 'jobs-retry-limit' },
    retryInitial: { doc: 'Delay before the first such retry; doubles with each.', format: duration('jobs.retryInitial'), default: '5s', env: 'PCG_JOBS_RETRY_INITIAL', arg: 'jobs-retry-initial' },
    retryMax: { doc: 'Longest delay between two retries.', format: duration('jobs.retryMax'), default: '60s', env: 'PCG_JOBS_RETRY_MAX', arg: 'jobs-retry-max' },
  },
  registry: {
    enabled: { doc: "Serve the embedded pack registry (OCI /v2/) on the gateway's HTTPS server.", format: Boolean, default: true, env: 'PCG_REGISTRY_ENABLED', arg: 'registry-enabled' },
    username: { doc: "The registry's admin user (push, pull, delete); empty: no admin, nodes pull with their tokens.", format: String, default: '', env: 'PCG_REGISTRY_USERNAME', arg: 'registry-username' },
    passwordFile: { doc: "File holding the registry admin's password (mode 0600).", format: String, default: '', env: 'PCG_REGISTRY_PASSWORD_FILE', arg: 'registry-password-file' },
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
  readonly https: HttpsConfig;
  readonly jobs: JobsConfig;
  readonly registry: RegistryConfig;
}

export interface RegistryConfig {
  /** @default true */
  readonly enabled: boolean;
  /** Both or neither; null: no admin account (nothing can push). @default null */
  readonly username: string | null;
  readonly passwordFile: string | null;
}

export interface HttpsConfig {
  /** @default '0.0.0.0' */
  readonly host: string;
  /** 0 picks a free port. @default 8443 */
  readonly port: number;
  /** Null: derived from host and the port bound. @default null */
  readonly publicUrl: string | null;
  /** Both or neither; null: a certificate from the gateway's own CA. @default null */
  readonly certFile: string | null;
  readonly keyFile: string | null;
}

export interface JobsConfig {
  /** @default 4 */
  readonly maxConcurrent: number;
  /** @default 60_000 */
  readonly driftCheckIntervalMs: number;
  /** @default 900_000 (15 min) */
  readonly nodeReadyTimeoutMs: number;
  /** @default 8 */
  readonly cloneConcurrency: number;
  /** Re-executions after a vCenter outage (unreachable, session lost); 0 never retries. @default 5 */
  readonly retryLimit: number;
  /** Delay before the first retry, doubling with each. @default 5_000 */
  readonly retryInitialMs: number;
  /** Longest delay between two executions; at least retryInitialMs. @default 60_000 */
  readonly retryMaxMs: number;
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
  const ms = (key: 'backoff.initial' | 'backoff.max' | 'connectTimeout' | 'jobs.driftCheckInterval' | 'jobs.nodeReadyTimeout' | 'jobs.retryInitial' | 'jobs.retryMax'): number => parseDuration(String(get(key)), key);
  return Object.freeze({
    stateDir: get('stateDir'),
    relay: Object.freeze({ url: get('relay.url'), caPin: get('relay.caPin') || null, caFile: get('relay.caFile') || null }),
    backoff: Object.freeze({ initialMs: ms('backoff.initial'), maxMs: ms('backoff.max') }),
    connectTimeoutMs: ms('connectTimeout'),
    logLevel: get('logLevel'),
    vcenter: vcenterFrom(get('vcenter.host'), get('vcenter.user'), get('vcenter.passwordFile'), get('vcenter.thumbprint'), get('vcenter.caFile')),
    https: httpsFrom(get('https.host'), get('https.port'), get('https.publicUrl'), get('https.certFile'), get('https.keyFile')),
    registry: registryFrom(get('registry.enabled'), get('registry.username'), get('registry.passwordFile')),
    jobs: Object.freeze({
      maxConcurrent: positive('jobs.maxConcurrent', get('jobs.maxConcurrent')),
      driftCheckIntervalMs: positive('jobs.driftCheckInterval', ms('jobs.driftCheckInterval')),
      nodeReadyTimeoutMs: positive('jobs.nodeReadyTimeout', ms('jobs.nodeReadyTimeout')),
      cloneConcurrency: positive('jobs.cloneConcurrency', get('jobs.cloneConcurrency')),
      ...retryFrom(get('jobs.retryLimit'), positive('jobs.retryInitial', ms('jobs.retryInitial')), positive('jobs.retryMax', ms('jobs.retryMax'))),
    }),
  });
}

function positive(key: string, value: number): number {
  if (!(value > 0)) throw new PcgError('PCG_ERR_CONFIG_INVALID', `${key}: must be greater than 0`);
  return value;
}

function retryFrom(retryLimit: number, retryInitialMs: number, retryMaxMs: number): Pick<JobsConfig, 'retryLimit' | 'retryInitialMs' | 'retryMaxMs'> {
  if (retryMaxMs < retryInitialMs) throw new PcgError('PCG_ERR_CONFIG_INVALID', 'jobs.retryMax: must be at least jobs.retryInitial');
  return { retryLimit, retryInitialMs, retryMaxMs };
}

function httpsFrom(host: string, port: number, publicUrl: string, certFile: string, keyFile: string): HttpsConfig {
  if (Boolean(certFile) !== Boolean(keyFile)) throw new PcgError('PCG_ERR_CONFIG_INVALID', 'https.certFile and https.keyFile: set both or neither');
  if (publicUrl) {
    let url: URL | undefined;
    try {
      url = new URL(publicUrl);
    } catch {
      url = undefined;
    }
    if (url?.protocol !== 'https:') throw new PcgError('PCG_ERR_CONFIG_INVALID', `https.publicUrl: "${publicUrl}" is not a URL like https://gateway.example:8443`);
  }
  return Object.freeze({ host, port, publicUrl: publicUrl || null, certFile: certFile || null, keyFile: keyFile || null });
}

function registryFrom(enabled: boolean, username: string, passwordFile: string): RegistryConfig {
  if (Boolean(username) !== Boolean(passwordFile)) throw new PcgError('PCG_ERR_CONFIG_INVALID', 'registry.username and registry.passwordFile: set both or neither');
  return Object.freeze({ enabled, username: username || null, passwordFile: passwordFile || null });
}

function vcenterFrom(host: string, user: string, passwordFile: string, thumbprint: string, caFile: string): VcenterConfig | null {
  if (!host) return null;
  if (!user) throw new PcgError('PCG_ERR_CONFIG_INVALID', 'vcenter.user: required when vcenter.host is set');
  if (!passwordFile) throw new PcgError('PCG_ERR_CONFIG_INVALID', 'vcenter.passwordFile: required when vcenter.host is set');
  if (thumbprint && caFile) throw new PcgError('PCG_ERR_CONFIG_INVALID', 'vcenter.thumbprint and vcenter.caFile: set one, not both');
  return Object.freeze({ host, user, passwordFile, thumbprint: thumbprint || null, caFile: caFile || null });
}
