import { hostname } from 'node:os';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { systemClock, type Clock } from '../proto/clock.js';
import { PcgError } from '../proto/errors.js';
import { MAX_FRAME_BYTES } from '../proto/limits.js';
import { connectionLimits } from './net/connection-limits.js';
import { DEFAULT_POOL_SIZE } from './store/database.js';

/** Everything `pcg-relay serve` can be told. */
export interface RelayOptions {
  /** Holds the SQLite store (embedded default), the CA, server certificate and relay keys. */
  dataDir: string;
  /** `HOST:PORT` to listen on; port 0 picks a free port. @default '127.0.0.1:8443' */
  listen?: string;
  /** `postgres://…` for PostgreSQL; SQLite in dataDir when absent. */
  databaseUrl?: string;
  /** PostgreSQL connections this relay holds at most (see DEFAULT_POOL_SIZE in store/database.ts). @default 10 */
  databasePoolSize?: number;
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
  /**
   * Open connections, all sources together; at the bound a new one evicts the oldest that has not
   * sent its ClientHello, or is refused. Keep below `ulimit -n`. @default 15_000
   */
  maxConnections?: number;
  /** Open connections from one IPv4 address or IPv6 /64; more are reset at accept. @default 256 */
  maxConnectionsPerAddress?: number;
  /** From accept until the ClientHello has fully arrived; silent sockets are closed then. @default 5000 */
  clientHelloTimeoutMs?: number;
  /** From accept until the TLS handshake is done, waiting for a TLS slot included. @default 15_000 */
  tlsHandshakeTimeoutMs?: number;
  /** How long one TLS handshake holds its slot at most. @default 2000 */
  tlsSlotTimeoutMs?: number;
  /** After TLS (or between requests), until the request headers are complete, upgrades included. @default 10_000 */
  headersTimeoutMs?: number;
  /** Until the whole request has arrived (not the response). @default 30_000 */
  requestTimeoutMs?: number;
  /** An idle kept-alive API connection is closed after this. @default 30_000 */
  keepAliveTimeoutMs?: number;
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
  /**
   * Failed pairing attempts per source address per minute (also the burst); attempts that prove
   * the code's secret are not counted. @default 20
   */
  pairingAttemptsPerMinute?: number;
  /**
   * Unauthenticated calls per source address per minute: REST requests without a valid API key,
   * tunnel handshakes without a valid client certificate or with a malformed opening. Callers
   * that authenticate are never counted. @default 60
   */
  unauthenticatedPerMinute?: number;
  /**
   * Folder of the public pack registry (`/v2/`, `/v1/packs`); null: this relay hosts none. One
   * process owns a registry folder (a lock file enforces it): with several relays on PostgreSQL,
   * give it to exactly one. @default `<dataDir>/registry` on SQLite; none on PostgreSQL
   */
  registryDir?: string | null;
  /** The public registry's operator account (push, tag, delete); with registryPasswordFile, both or neither. @default none */
  registryUsername?: string;
  /** File (0600) holding the operator's password. @default none */
  registryPasswordFile?: string;
  clock?: Clock;
  logger?: Logger;
}

export type ResolvedRelayOptions = Readonly<Required<Omit<RelayOptions, 'tlsCertFile' | 'tlsKeyFile' | 'logger' | 'registryDir' | 'registryUsername' | 'registryPasswordFile'>> & {
  registryDir: string | null;
  registryOperator: { readonly username: string; readonly passwordFile: string } | null;
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
  if (options.databasePoolSize !== undefined && !(Number.isInteger(options.databasePoolSize) && options.databasePoolSize >= 1)) {
    throw new PcgError('PCG_ERR_CONFIG_INVALID', `database pool size must be a whole number of connections, at least 1 (got ${options.databasePoolSize})`);
  }
  if (Boolean(options.registryUsername) !== Boolean(options.registryPasswordFile)) {
    throw new PcgError('PCG_ERR_CONFIG_INVALID', 'registry-username and registry-password-file go together');
  }
  const databaseUrl = options.databaseUrl ?? join(options.dataDir, 'relay.db');
  const embedded = !/^postgres(ql)?:\/\//.test(databaseUrl);
  const wildcard = host === '0.0.0.0' || host === '::';
  return Object.freeze({
    dataDir: options.dataDir,
    listen,
    host,
    port,
    databaseUrl,
    databasePoolSize: options.databasePoolSize ?? DEFAULT_POOL_SIZE,
    tlsCertFile: options.tlsCertFile,
    tlsKeyFile: options.tlsKeyFile,
    tlsHosts: [...new Set(['localhost', '127.0.0.1', '::1', hostname(), ...(wildcard ? [] : [host]), ...(options.tlsHosts ?? [])])],
    pairingCodeTtlMs: options.pairingCodeTtlMs ?? 900_000,
    heartbeatSeconds: options.heartbeatSeconds ?? 15,
    clientCertLifetimeMs: options.clientCertLifetimeMs ?? 86_400_000,
    maxConcurrentHandshakes: options.maxConcurrentHandshakes ?? 1024,
    busyRetryAfterMs: options.busyRetryAfterMs ?? 1000,
    maxFrameBytes: options.maxFrameBytes ?? MAX_FRAME_BYTES,
    handshakeTimeoutMs: options.handshakeTimeoutMs ?? 10_000,
    eventPollMs: options.eventPollMs ?? 250,
    inventoryTimeoutMs: options.inventoryTimeoutMs ?? 30_000,
    routePollMs: options.routePollMs ?? 1000,
    ...connectionLimits(options),
    pairingAttemptsPerMinute: options.pairingAttemptsPerMinute ?? 20,
    unauthenticatedPerMinute: options.unauthenticatedPerMinute ?? 60,
    registryDir: options.registryDir === undefined ? (embedded ? join(options.dataDir, 'registry') : null) : options.registryDir,
    registryOperator: options.registryUsername && options.registryPasswordFile ? Object.freeze({ username: options.registryUsername, passwordFile: options.registryPasswordFile }) : null,
    clock: options.clock ?? systemClock,
    logger: options.logger,
  });
}
