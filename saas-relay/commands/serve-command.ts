import { exitWithError, requireFlag } from '../../proto/cli-support.js';
import { parseDuration } from '../../proto/durations.js';
import { PcgError } from '../../proto/errors.js';
import { Relay } from '../relay.js';

/** The flags of `pcg-relay serve` as commander hands them over: strings, checked here. */
export interface ServeFlags {
  readonly dataDir?: string;
  readonly listen?: string;
  readonly databaseUrl?: string;
  readonly tlsCert?: string;
  readonly tlsKey?: string;
  readonly tlsHost?: string[];
  readonly pairingCodeTtl?: string;
  readonly heartbeat?: string;
  readonly certLifetime?: string;
  readonly maxHandshakes?: string;
  readonly busyRetryAfter?: string;
  readonly maxFrameBytes?: string;
  readonly maxTlsHandshakes?: string;
  readonly inventoryTimeout?: string;
}

/** `pcg-relay serve`: starts the relay and closes it on SIGTERM or SIGINT. */
export async function serveCommand(flags: ServeFlags): Promise<void> {
  const positiveInt = (name: string, value: string | undefined): number | undefined => {
    if (value === undefined) return undefined;
    if (!/^\d+$/.test(value) || Number(value) < 1) throw new PcgError('PCG_ERR_CONFIG_INVALID', `--${name}: "${value}" is not a positive integer`);
    return Number(value);
  };
  const duration = (name: string, value: string | undefined): number | undefined => (value === undefined ? undefined : parseDuration(value, `--${name}`));
  const dataDir = requireFlag(flags.dataDir, 'data-dir');
  const heartbeatMs = duration('heartbeat', flags.heartbeat);
  const pairingCodeTtlMs = duration('pairing-code-ttl', flags.pairingCodeTtl);
  const clientCertLifetimeMs = duration('cert-lifetime', flags.certLifetime);
  const busyRetryAfterMs = duration('busy-retry-after', flags.busyRetryAfter);
  const inventoryTimeoutMs = duration('inventory-timeout', flags.inventoryTimeout);
  const relay = await Relay.create({
    dataDir,
    ...(flags.listen ? { listen: flags.listen } : {}),
    ...(flags.databaseUrl ? { databaseUrl: flags.databaseUrl } : {}),
    ...(flags.tlsCert ? { tlsCertFile: flags.tlsCert } : {}),
    ...(flags.tlsKey ? { tlsKeyFile: flags.tlsKey } : {}),
    ...(flags.tlsHost ? { tlsHosts: flags.tlsHost } : {}),
    ...(pairingCodeTtlMs !== undefined ? { pairingCodeTtlMs } : {}),
    ...(heartbeatMs !== undefined ? { heartbeatSeconds: heartbeatMs / 1000 } : {}),
    ...(clientCertLifetimeMs !== undefined ? { clientCertLifetimeMs } : {}),
    ...(flags.maxHandshakes ? { maxConcurrentHandshakes: positiveInt('max-handshakes', flags.maxHandshakes) } : {}),
    ...(busyRetryAfterMs !== undefined ? { busyRetryAfterMs } : {}),
    ...(flags.maxFrameBytes ? { maxFrameBytes: positiveInt('max-frame-bytes', flags.maxFrameBytes) } : {}),
    ...(inventoryTimeoutMs !== undefined ? { inventoryTimeoutMs } : {}),
    ...(flags.maxTlsHandshakes ? { maxConcurrentTlsHandshakes: positiveInt('max-tls-handshakes', flags.maxTlsHandshakes) } : {}),
  });
  const stop = (): void => {
    relay.log.info('relay stopping');
    relay.close().then(() => process.exit(0), exitWithError);
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}
