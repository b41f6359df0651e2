#!/usr/bin/env node
import { systemClock } from '../proto/clock.js';
import { exitWithError, parseFlags, requireFlag } from '../proto/cli-support.js';
import { PcgError } from '../proto/errors.js';
import { Secret } from '../proto/secret.js';
import { loadGatewayConfig, type GatewayConfig } from './config/gateway-config.js';
import { IdentityStore } from './identity/identity-store.js';
import { createGatewayLogger } from './logger.js';
import { proxyEnvFrom } from './net/proxy-for-url.js';
import { pairGateway } from './pairing/pair-gateway.js';
import { formatStatus, gatewayStatus } from './status/gateway-status.js';
import { writeStatus } from './status/status-file.js';
import { AGENT } from './tunnel/gateway-handshake.js';
import { checkVcenter } from './vsphere/vcenter-connect.js';
import { VcenterService } from './vsphere/vcenter-service.js';
import { TunnelClient } from './tunnel/tunnel-client.js';

const USAGE = `pcg-gateway — the on-prem side of the PCG tunnel

  pcg-gateway pair   --state-dir DIR --relay URL --code CODE [--ca-pin PIN] [--ca-file FILE]
  pcg-gateway run    --state-dir DIR [--backoff-initial 500ms] [--backoff-max 30s]
  pcg-gateway status --state-dir DIR [--json]
  pcg-gateway vcenter check [--json] --vcenter-host HOST --vcenter-user USER --vcenter-password-file FILE
                      [--vcenter-thumbprint AB:CD:… | --vcenter-ca-file FILE]

Every command also takes --config FILE (JSON), --log-level LEVEL and --connect-timeout 15s.
Environment: PCG_STATE_DIR, PCG_RELAY_URL, PCG_RELAY_CA_PIN, PCG_RELAY_CA_FILE, PCG_PAIRING_CODE,
PCG_BACKOFF_INITIAL, PCG_BACKOFF_MAX, PCG_CONNECT_TIMEOUT, PCG_LOG_LEVEL, PCG_VCENTER_HOST, PCG_VCENTER_USER,
PCG_VCENTER_PASSWORD_FILE, PCG_VCENTER_THUMBPRINT, PCG_VCENTER_CA_FILE, HTTPS_PROXY, NO_PROXY.
`;

const CONFIG_FLAGS = {
  config: { type: 'string' }, 'state-dir': { type: 'string' }, relay: { type: 'string' }, 'ca-pin': { type: 'string' }, 'ca-file': { type: 'string' },
  'backoff-initial': { type: 'string' }, 'backoff-max': { type: 'string' }, 'connect-timeout': { type: 'string' }, 'log-level': { type: 'string' },
  'vcenter-host': { type: 'string' }, 'vcenter-user': { type: 'string' }, 'vcenter-password-file': { type: 'string' },
  'vcenter-thumbprint': { type: 'string' }, 'vcenter-ca-file': { type: 'string' },
} as const;

function configFrom(args: string[], config: string | undefined): GatewayConfig {
  return loadGatewayConfig(args, process.env, config);
}

async function pair(args: string[]): Promise<void> {
  const flags = parseFlags(args, { ...CONFIG_FLAGS, code: { type: 'string' } });
  const config = configFrom(args, flags.config);
  const log = createGatewayLogger(config.logLevel, 'stderr');
  const code = new Secret(requireFlag(flags.code ?? process.env.PCG_PAIRING_CODE, 'code'));
  const record = await pairGateway({
    stateDir: config.stateDir, relayUrl: requireFlag(config.relay.url, 'relay'), code, caPin: config.relay.caPin, caFile: config.relay.caFile,
    proxy: proxyEnvFrom(process.env), timeoutMs: config.connectTimeoutMs, clock: systemClock, log,
  });
  process.stdout.write(`${JSON.stringify({ gatewayId: record.gatewayId, tenantId: record.tenantId, cloudAccountId: record.cloudAccountId })}\n`);
}

async function run(args: string[]): Promise<void> {
  const flags = parseFlags(args, CONFIG_FLAGS);
  const config = configFrom(args, flags.config);
  const log = createGatewayLogger(config.logLevel);
  const store = new IdentityStore(config.stateDir);
  const identity = await store.load();
  let writing = Promise.resolve();
  const vcenter = config.vcenter ? new VcenterService(config.vcenter, log) : undefined;
  const client = TunnelClient.prepare(identity, {
    backoff: { initialMs: config.backoff.initialMs, maxMs: config.backoff.maxMs, floorMs: 100 },
    connectTimeoutMs: config.connectTimeoutMs, proxy: proxyEnvFrom(process.env), version: AGENT,
  }, {
    clock: systemClock,
    log,
    // Status writes are chained so an older one never lands after a newer one.
    reportStatus: (status) => {
      writing = writing.then(() => writeStatus(config.stateDir, status)).catch((err: unknown) => log.warn({ err }, 'cannot write status.json'));
    },
    saveClientCertificate: (pem) => store.saveClientCertificate(pem),
    vcenter,
  }).start();
  log.info({ gatewayId: identity.gatewayId, relay: identity.relayUrl }, 'gateway starting');
  const stop = (): void => {
    client.stop().then(() => writing).then(() => vcenter?.close()).then(() => process.exit(0), exitWithError);
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  await client.done;
  await writing;
  await vcenter?.close();
  if (client.terminalError) throw client.terminalError;
}

async function status(args: string[]): Promise<void> {
  const flags = parseFlags(args, { ...CONFIG_FLAGS, json: { type: 'boolean' } });
  const config = configFrom(args.filter((a) => a !== '--json'), flags.config);
  const report = await gatewayStatus(config.stateDir);
  process.stdout.write(flags.json ? `${JSON.stringify(report)}\n` : formatStatus(report));
}

async function vcenterCheck(args: string[]): Promise<void> {
  const flags = parseFlags(args, { ...CONFIG_FLAGS, json: { type: 'boolean' } });
  const config = configFrom(args.filter((a) => a !== '--json'), flags.config);
  if (!config.vcenter) throw new PcgError('PCG_ERR_CONFIG_INVALID', 'vcenter.host: not set (--vcenter-host or PCG_VCENTER_HOST)');
  try {
    const result = await checkVcenter(config.vcenter);
    if (flags.json) process.stdout.write(`${JSON.stringify(result)}\n`);
    else {
      const c = result.counts;
      process.stdout.write(`vCenter ${config.vcenter.host}: ok, version ${result.version}\n`
        + `datacenters: ${result.datacenters.join(', ')}\n`
        + `VMs ${c.vm}, templates ${c.template}, hosts ${c.host}, datastores ${c.datastore}, networks ${c.network}\n`);
    }
  } catch (err) {
    if (flags.json && err instanceof PcgError) process.stdout.write(`${JSON.stringify({ ok: false, code: err.code, message: err.message })}\n`);
    throw err;
  }
}

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'pair': return pair(rest);
    case 'run': return run(rest);
    case 'status': return status(rest);
    case 'vcenter':
      if (rest[0] === 'check') return vcenterCheck(rest.slice(1));
      throw new PcgError('PCG_ERR_CONFIG_INVALID', `unknown command "vcenter ${rest[0] ?? ''}"; run pcg-gateway --help`);
    case undefined: case 'help': case '--help': case '-h':
      process.stdout.write(USAGE);
      return;
    default:
      throw new PcgError('PCG_ERR_CONFIG_INVALID', `unknown command "${command}"; run pcg-gateway --help`);
  }
}

main(process.argv.slice(2)).catch(exitWithError);
