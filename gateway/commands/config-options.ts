import { Option, type Command } from 'commander';
import { loadGatewayConfig, type GatewayConfig } from '../config/gateway-config.js';

/**
 * The configuration flags every gateway command takes, declared once. Each `flag` is the `arg` of a
 * key in config/gateway-config.ts: commander only declares them (for help and unknown-flag errors)
 * and hands what was given to convict, which applies file < environment < flags, defaults and
 * validation. So no commander default or env here: it would hide the environment and the file.
 */
const CONFIG_FLAGS: ReadonlyArray<{ flag: string; value: string; description: string }> = [
  { flag: 'state-dir', value: 'dir', description: 'directory holding identity, keys and status.json [PCG_STATE_DIR, default /var/lib/pcg-gateway]' },
  { flag: 'relay', value: 'url', description: 'relay base URL https://host:port, used by pair [PCG_RELAY_URL]' },
  { flag: 'ca-pin', value: 'pin', description: 'relay CA pin shown in the portal, sha256/<base64> [PCG_RELAY_CA_PIN]' },
  { flag: 'ca-file', value: 'file', description: 'extra CA bundle (PEM), e.g. of a TLS-inspecting proxy [PCG_RELAY_CA_FILE]' },
  { flag: 'backoff-initial', value: 'duration', description: 'first reconnect delay ceiling [PCG_BACKOFF_INITIAL, default 500ms]' },
  { flag: 'backoff-max', value: 'duration', description: 'largest reconnect delay ceiling [PCG_BACKOFF_MAX, default 30s]' },
  { flag: 'connect-timeout', value: 'duration', description: 'deadline for connect plus handshake [PCG_CONNECT_TIMEOUT, default 15s]' },
  { flag: 'log-level', value: 'level', description: 'fatal|error|warn|info|debug|trace|silent [PCG_LOG_LEVEL, default info]' },
  { flag: 'vcenter-host', value: 'host', description: 'vCenter address: host, host:port, https://host/ or https://host/sdk [PCG_VCENTER_HOST]' },
  { flag: 'vcenter-user', value: 'user', description: 'vCenter user, e.g. pcg@vsphere.local [PCG_VCENTER_USER]' },
  { flag: 'vcenter-password-file', value: 'file', description: 'file holding the vCenter password, mode 0600 [PCG_VCENTER_PASSWORD_FILE]' },
  { flag: 'vcenter-thumbprint', value: 'AB:CD:…', description: "SHA-256 thumbprint of vCenter's certificate [PCG_VCENTER_THUMBPRINT]" },
  { flag: 'https-host', value: 'address', description: "address of the gateway's HTTPS server (node phone-home, pack registry) [PCG_HTTPS_HOST, default 0.0.0.0]" },
  { flag: 'https-port', value: 'port', description: 'port of the HTTPS server, 0 picks a free one [PCG_HTTPS_PORT, default 8443]' },
  { flag: 'https-public-url', value: 'url', description: 'URL cluster nodes dial to reach the gateway [PCG_HTTPS_PUBLIC_URL, default from host and port]' },
  { flag: 'https-cert-file', value: 'file', description: 'PEM certificate chain to serve instead of the generated one [PCG_HTTPS_CERT_FILE]' },
  { flag: 'https-key-file', value: 'file', description: 'PEM private key of --https-cert-file, mode 0600 [PCG_HTTPS_KEY_FILE]' },
  { flag: 'jobs-max-concurrent', value: 'n', description: 'cluster jobs executed at once [PCG_JOBS_MAX_CONCURRENT, default 4]' },
  { flag: 'jobs-clone-concurrency', value: 'n', description: 'VM clones one job runs at once [PCG_JOBS_CLONE_CONCURRENCY, default 8]' },
  { flag: 'jobs-node-ready-timeout', value: 'duration', description: 'how long a job waits for a node to phone home [PCG_JOBS_NODE_READY_TIMEOUT, default 15m]' },
  { flag: 'jobs-retry-limit', value: 'n', description: 'times a job runs again after vCenter was unreachable or lost its session, 0 never [PCG_JOBS_RETRY_LIMIT, default 5]' },
  { flag: 'jobs-retry-initial', value: 'duration', description: 'delay before the first such retry, doubling with each [PCG_JOBS_RETRY_INITIAL, default 5s]' },
  { flag: 'jobs-retry-max', value: 'duration', description: 'longest delay between two retries [PCG_JOBS_RETRY_MAX, default 60s]' },
  { flag: 'jobs-drift-check-interval', value: 'duration', description: 'how often built clusters are checked for VMs removed by hand [PCG_JOBS_DRIFT_CHECK_INTERVAL, default 60s]' },
  { flag: 'registry-enabled', value: 'true|false', description: "serve the embedded pack registry (OCI /v2/) on the HTTPS server [PCG_REGISTRY_ENABLED, default true]" },
  { flag: 'registry-username', value: 'user', description: "the registry's admin user: push, pull, delete [PCG_REGISTRY_USERNAME]" },
  { flag: 'registry-password-file', value: 'file', description: "file holding the registry admin's password, mode 0600 [PCG_REGISTRY_PASSWORD_FILE]" },
  { flag: 'vcenter-ca-file', value: 'file', description: "CA bundle that signed vCenter's certificate [PCG_VCENTER_CA_FILE]" },
];

const HELP_GROUP = 'Configuration (flag > environment > --config file > default):';

/** Commander names option values in camelCase: `state-dir` is `stateDir`. */
const attributeOf = (flag: string): string => flag.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());

/** Adds `--config` and the configuration flags to a gateway command, in their own help group. */
export function withConfigOptions(command: Command): Command {
  command.addOption(new Option('--config <file>', 'JSON file with the configuration keys (see README)').helpGroup(HELP_GROUP));
  for (const { flag, value, description } of CONFIG_FLAGS) {
    command.addOption(new Option(`--${flag} <${value}>`, description).helpGroup(HELP_GROUP));
  }
  return command;
}

/** The validated configuration: the flags given on the command line, PCG_* variables and the --config file. */
export function configFromOptions(options: Readonly<Record<string, unknown>>): GatewayConfig {
  // `--flag=value`, not `--flag value`: convict's argv parser would take a value starting with '-' for a flag.
  const args = CONFIG_FLAGS.flatMap(({ flag }) => {
    const value = options[attributeOf(flag)];
    return typeof value === 'string' ? [`--${flag}=${value}`] : [];
  });
  return loadGatewayConfig(args, process.env, typeof options.config === 'string' ? options.config : undefined);
}
