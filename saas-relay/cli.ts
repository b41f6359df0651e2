#!/usr/bin/env node
import { join } from 'node:path';
import { exitWithError, parseFlags, requireFlag } from '../proto/cli-support.js';
import { parseDuration } from '../proto/durations.js';
import { PcgError } from '../proto/errors.js';
import { Relay } from './relay.js';
import { loadHashKey } from './tls/relay-pki.js';
import { SecretHasher } from './security/secret-hasher.js';
import { openDatabase } from './store/database.js';
import { TenancyStore } from './store/tenancy-store.js';
import { systemClock } from '../proto/clock.js';

const USAGE = `pcg-relay — the SaaS side of the PCG tunnel

  pcg-relay serve --data-dir DIR [--listen HOST:PORT] [--database-url URL]
                  [--tls-cert FILE --tls-key FILE] [--tls-host NAME]...
                  [--pairing-code-ttl 15m] [--heartbeat 15s] [--cert-lifetime 24h]
                  [--max-handshakes 1024] [--max-tls-handshakes 128] [--busy-retry-after 1s]
                  [--max-frame-bytes 1048576] [--inventory-timeout 30s]
  pcg-relay admin create-tenant --data-dir DIR --name NAME [--database-url URL]
`;

async function serve(args: string[]): Promise<void> {
  const flags = parseFlags(args, {
    'data-dir': { type: 'string' }, listen: { type: 'string' }, 'database-url': { type: 'string' },
    'tls-cert': { type: 'string' }, 'tls-key': { type: 'string' }, 'tls-host': { type: 'string', multiple: true },
    'pairing-code-ttl': { type: 'string' }, heartbeat: { type: 'string' }, 'cert-lifetime': { type: 'string' },
    'max-handshakes': { type: 'string' }, 'busy-retry-after': { type: 'string' }, 'max-frame-bytes': { type: 'string' },
    'max-tls-handshakes': { type: 'string' }, 'inventory-timeout': { type: 'string' },
  });
  const positiveInt = (name: string, value: string | undefined): number | undefined => {
    if (value === undefined) return undefined;
    if (!/^\d+$/.test(value) || Number(value) < 1) throw new PcgError('PCG_ERR_CONFIG_INVALID', `--${name}: "${value}" is not a positive integer`);
    return Number(value);
  };
  const duration = (name: string): number | undefined => {
    const value = flags[name as keyof typeof flags] as string | undefined;
    return value === undefined ? undefined : parseDuration(value, `--${name}`);
  };
  const heartbeatMs = duration('heartbeat');
  const relay = await Relay.create({
    dataDir: requireFlag(flags['data-dir'], 'data-dir'),
    ...(flags.listen ? { listen: flags.listen } : {}),
    ...(flags['database-url'] ? { databaseUrl: flags['database-url'] } : {}),
    ...(flags['tls-cert'] ? { tlsCertFile: flags['tls-cert'] } : {}),
    ...(flags['tls-key'] ? { tlsKeyFile: flags['tls-key'] } : {}),
    ...(flags['tls-host'] ? { tlsHosts: flags['tls-host'] } : {}),
    ...(duration('pairing-code-ttl') !== undefined ? { pairingCodeTtlMs: duration('pairing-code-ttl') } : {}),
    ...(heartbeatMs !== undefined ? { heartbeatSeconds: heartbeatMs / 1000 } : {}),
    ...(duration('cert-lifetime') !== undefined ? { clientCertLifetimeMs: duration('cert-lifetime') } : {}),
    ...(flags['max-handshakes'] ? { maxConcurrentHandshakes: positiveInt('max-handshakes', flags['max-handshakes']) } : {}),
    ...(duration('busy-retry-after') !== undefined ? { busyRetryAfterMs: duration('busy-retry-after') } : {}),
    ...(flags['max-frame-bytes'] ? { maxFrameBytes: positiveInt('max-frame-bytes', flags['max-frame-bytes']) } : {}),
    ...(duration('inventory-timeout') !== undefined ? { inventoryTimeoutMs: duration('inventory-timeout') } : {}),
    ...(flags['max-tls-handshakes'] ? { maxConcurrentTlsHandshakes: positiveInt('max-tls-handshakes', flags['max-tls-handshakes']) } : {}),
  });
  const stop = (): void => {
    relay.log.info('relay stopping');
    relay.close().then(() => process.exit(0), exitWithError);
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

async function createTenant(args: string[]): Promise<void> {
  const flags = parseFlags(args, { 'data-dir': { type: 'string' }, name: { type: 'string' }, 'database-url': { type: 'string' } });
  const dataDir = requireFlag(flags['data-dir'], 'data-dir');
  const name = requireFlag(flags.name, 'name');
  const hashKey = await loadHashKey(dataDir);
  const database = await openDatabase(flags['database-url'] ?? join(dataDir, 'relay.db'));
  try {
    const created = await new TenancyStore(database.db, new SecretHasher(hashKey), systemClock).createTenant(name);
    process.stdout.write(`${JSON.stringify({ tenantId: created.tenantId, projectId: created.projectId, apiKey: created.apiKey })}\n`);
  } finally {
    await database.close();
  }
}

async function main(argv: string[]): Promise<void> {
  const [command, sub, ...rest] = argv;
  if (command === 'serve') return serve(argv.slice(1));
  if (command === 'admin' && sub === 'create-tenant') return createTenant(rest);
  if (command === undefined || command === 'help' || command === '--help' || command === '-h') {
    process.stdout.write(USAGE);
    return;
  }
  throw new PcgError('PCG_ERR_CONFIG_INVALID', `unknown command "${argv.join(' ')}"; run pcg-relay --help`);
}

main(process.argv.slice(2)).catch(exitWithError);
