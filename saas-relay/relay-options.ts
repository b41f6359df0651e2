import { hostname } from 'node:os';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { systemClock, type Clock } from '../proto/clock.js';
import { PcgError } from '../proto/errors.js';
import { MAX_FRAME_BYTES } from '../proto/limits.js';

/** Everything `pcg-relay serve` can be told. */
export interface RelayOptions {
  /** Holds the SQLite store (embedded default), the CA, server certificate and relay keys. */
  dataDir: string;
  /** `HOST:PORT` to listen on; port 0 picks a free port. @default '127.0.0.1:8443' */
  listen?: string;
  /** `postgres://…` for PostgreSQL; SQLite in dataDir when absent. */
  databaseUrl?: string;
  /** PEM certificate chain and key to serve instead of the generated ones. */
  tlsCertFile?: string;
  tlsKeyFile?: string;
  /** Extra names for the generated server certificate. @default [] */
  tlsHosts?: string[];
  /** @default 900_000 (15 min) */
  pairingCodeTtlMs?: number;
  /** @default 15 */
  heartbeatSeconds?: number;
  /** Lifetime of gateway client certificates; gateways renew at 2/3. @default 86_400_000 (24 h) */
  clientCertLifetimeMs?: number;
  /** In-flight handshakes above which new connections get PCG_ERR_RELAY_BUSY. @default 1024 */
  maxConcurrentHandshakes?: number;
  /** @default 1000 */
  busyRetryAfterMs?: number;
  /** TLS handshakes in progress at once; further connections wait, accepted, in order. @default 128 */
  maxConcurrentTlsHandshakes?: number;
  /** @default 1_048_576 */
  maxFrameBytes?: number;
  /** @default 10_000 */
  handshakeTimeoutMs?: number;
  /** @default 250 */
  eventPollMs?: number;
  /** How long an inventory request through the tunnel may take. @default 30_000 */
  inventoryTimeoutMs?: number;
  /** Safety-net poll for work routed between relays (signals normally wake them at once). @default 1000 */
  routePollMs?: number;
  clock?: Clock;
  logger?: Logger;
}

export type ResolvedRelayOptions = Readonly<Required<Omit<RelayOptions, 'tlsCertFile' | 'tlsKeyFile' | 'logger'>> & {
  host: string;
  port: number;
  tlsCertFile: string | undefined;
  tlsKeyFile: string | undefined;
  logger: Logger | undefined;
}>;

export const DEFAULT_LISTEN = '127.0.0.1:8443';

export function resolveRelayOptions(options: RelayOptions): ResolvedRelayOptions {
  const listen = options.listen ?? DEFAULT_LISTEN;
  const match = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(listen);
  if (!match) throw new PcgError('PCG_ERR_CONFIG_INVALID', `listen: "${listen}" is not HOST:PORT`);
  const host = match[1] ?? match[2] ?? '127.0.0.1';
  const port = Number(match[3]);
  if (port > 65535) throw new PcgError('PCG_ERR_CONFIG_INVALID', `listen: port ${port} is out of range`);
  if (Boolean(options.tlsCertFile) !== Boolean(options.tlsKeyFile)) {
    throw new PcgError('PCG_ERR_CONFIG_INVALID', 'tls-cert and tls-key go together');
  }
  const wildcard = host === '0.0.0.0' || host === '::';
  return Object.freeze({
    dataDir: options.dataDir,
    listen,
    host,
    port,
    databaseUrl: options.databaseUrl ?? join(options.dataDir, 'relay.db'),
    tlsCertFile: options.tlsCertFile,
    tlsKeyFile: options.tlsKeyFile,
    tlsHosts: [...new Set(['localhost', '127.0.0.1', '::1', hostname(), ...(wildcard ? [] : [host]), ...(options.tlsHosts ?? [])])],
    pairingCodeTtlMs: options.pairingCodeTtlMs ?? 900_000,
    heartbeatSeconds: options.heartbeatSeconds ?? 15,
    clientCertLifetimeMs: options.clientCertLifetimeMs ?? 86_400_000,
    maxConcurrentHandshakes: options.maxConcurrentHandshakes ?? 1024,
    busyRetryAfterMs: options.busyRetryAfterMs ?? 1000,
    maxConcurrentTlsHandshakes: options.maxConcurrentTlsHandshakes ?? 128,
    maxFrameBytes: options.maxFrameBytes ?? MAX_FRAME_BYTES,
    handshakeTimeoutMs: options.handshakeTimeoutMs ?? 10_000,
    eventPollMs: options.eventPollMs ?? 250,
    inventoryTimeoutMs: options.inventoryTimeoutMs ?? 30_000,
    routePollMs: options.routePollMs ?? 1000,
    clock: options.clock ?? systemClock,
    logger: options.logger,
  });
}
