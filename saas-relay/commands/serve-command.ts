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
  readonly databasePoolSize?: string;
  readonly busyRetryAfter?: string;
  readonly maxFrameBytes?: string;
  readonly maxTlsHandshakes?: string;
  readonly inventoryTimeout?: string;
  readonly maxConnections?: string;
  readonly maxConnectionsPerAddress?: string;
  readonly clientHelloTimeout?: string;
  readonly tlsHandshakeTimeout?: string;
  readonly tlsSlotTimeout?: string;
  readonly headersTimeout?: string;
  readonly requestTimeout?: string;
  readonly keepAliveTimeout?: string;
  readonly handshakeTimeout?: string;
  readonly pairingAttemptsPerMinute?: string;
  readonly unauthenticatedPerMinute?: string;
  readonly registryDir?: string;
  /** false with `--no-registry`. */
  readonly registry?: boolean;
  readonly registryUsername?: string;
  readonly registryPasswordFile?: string;
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
  if (flags.registry === false && flags.registryDir) throw new PcgError('PCG_ERR_CONFIG_INVALID', '--no-registry and --registry-dir exclude each other');
  const heartbeatMs = duration('heartbeat', flags.heartbeat);
  const pairingCodeTtlMs = duration('pairing-code-ttl', flags.pairingCodeTtl);
  const clientCertLifetimeMs = duration('cert-lifetime', flags.certLifetime);
  const busyRetryAfterMs = duration('busy-retry-after', flags.busyRetryAfter);
  const inventoryTimeoutMs = duration('inventory-timeout', flags.inventoryTimeout);
  // Connection bounds and deadlines (ConnectionGate, HTTP timeouts, tunnel handshake): set only when given.
  const connectionFlags = Object.fromEntries(Object.entries({
    maxConnections: positiveInt('max-connections', flags.maxConnections),
    maxConnectionsPerAddress: positiveInt('max-connections-per-address', flags.maxConnectionsPerAddress),
    clientHelloTimeoutMs: duration('client-hello-timeout', flags.clientHelloTimeout),
    tlsHandshakeTimeoutMs: duration('tls-handshake-timeout', flags.tlsHandshakeTimeout),
    tlsSlotTimeoutMs: duration('tls-slot-timeout', flags.tlsSlotTimeout),
    headersTimeoutMs: duration('headers-timeout', flags.headersTimeout),
    requestTimeoutMs: duration('request-timeout', flags.requestTimeout),
    keepAliveTimeoutMs: duration('keep-alive-timeout', flags.keepAliveTimeout),
    handshakeTimeoutMs: duration('handshake-timeout', flags.handshakeTimeout),
  }).filter(([, value]) => value !== undefined)) as Partial<Record<'maxConnections' | 'maxConnectionsPerAddress' | 'clientHelloTimeoutMs' | 'tlsHandshakeTimeoutMs'
    | 'tlsSlotTimeoutMs' | 'headersTimeoutMs' | 'requestTimeoutMs' | 'keepAliveTimeoutMs' | 'handshakeTimeoutMs', number>>;
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
    ...(flags.databasePoolSize ? { databasePoolSize: positiveInt('database-pool-size', flags.databasePoolSize) } : {}),
    ...(busyRetryAfterMs !== undefined ? { busyRetryAfterMs } : {}),
    ...(flags.maxFrameBytes ? { maxFrameBytes: positiveInt('max-frame-bytes', flags.maxFrameBytes) } : {}),
    ...(inventoryTimeoutMs !== undefined ? { inventoryTimeoutMs } : {}),
    ...(flags.maxTlsHandshakes ? { maxConcurrentTlsHandshakes: positiveInt('max-tls-handshakes', flags.maxTlsHandshakes) } : {}),
    ...connectionFlags,
    ...(flags.pairingAttemptsPerMinute ? { pairingAttemptsPerMinute: positiveInt('pairing-attempts-per-minute', flags.pairingAttemptsPerMinute) } : {}),
    ...(flags.unauthenticatedPerMinute ? { unauthenticatedPerMinute: positiveInt('unauthenticated-per-minute', flags.unauthenticatedPerMinute) } : {}),
    ...(flags.registry === false ? { registryDir: null } : flags.registryDir ? { registryDir: flags.registryDir } : {}),
    ...(flags.registryUsername ? { registryUsername: flags.registryUsername } : {}),
    ...(flags.registryPasswordFile ? { registryPasswordFile: flags.registryPasswordFile } : {}),
  });
  const stop = (): void => {
    relay.log.info('relay stopping');
    relay.close().then(() => process.exit(0), exitWithError);
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}
