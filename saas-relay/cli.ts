#!/usr/bin/env node
import { createProgram, runProgram } from '../proto/cli-support.js';
import { createTenantCommand } from './commands/create-tenant-command.js';
import { packsImportCommand } from './commands/packs-import-command.js';
import { serveCommand } from './commands/serve-command.js';

/** `--tls-host a --tls-host b`: repeated, not variadic, so a following flag is never taken for a name. */
const collect = (value: string, previous: string[] | undefined): string[] => [...(previous ?? []), value];

const program = createProgram('pcg-relay', 'The SaaS side of the PCG tunnel: gateways connect to it, the REST API drives them.')
  .addHelpText('after', 'Log level: PCG_LOG_LEVEL (default info).');

program.command('serve')
  .description('Run the relay: tunnel endpoint for gateways, pairing and the REST API on one TLS port.')
  .option('--data-dir <dir>', 'SQLite store, CA, server certificate and keys (required)')
  .option('--listen <host:port>', 'address to listen on; port 0 picks a free port (default 127.0.0.1:8443)')
  .option('--database-url <url>', 'postgres://user@host:port/db (default SQLite relay.db in the data dir)')
  .option('--tls-cert <file>', 'PEM certificate chain to serve instead of the generated one (with --tls-key)')
  .option('--tls-key <file>', 'PEM key of --tls-cert')
  .option('--tls-host <name>', 'extra DNS name or IP for the generated certificate; repeatable', collect)
  .option('--pairing-code-ttl <duration>', 'lifetime of a pairing code (default 15m)')
  .option('--heartbeat <duration>', 'gateway heartbeat interval (default 15s)')
  .option('--cert-lifetime <duration>', 'gateway client certificate lifetime; renewed at 2/3 (default 24h)')
  .option('--database-pool-size <n>', 'PostgreSQL connections per relay process (default 10)')
  .option('--max-handshakes <n>', 'handshakes in flight before PCG_ERR_RELAY_BUSY (default 1024)')
  .option('--max-tls-handshakes <n>', 'TLS handshakes run at once; others wait in order (default 128)')
  .option('--busy-retry-after <duration>', 'retry-after hint sent with PCG_ERR_RELAY_BUSY (default 1s)')
  .option('--max-frame-bytes <n>', 'largest websocket message (default 1048576)')
  .option('--inventory-timeout <duration>', 'how long an inventory request waits for the gateway (default 30s)')
  .option('--max-connections <n>', 'open connections, all sources; at the bound the oldest without a ClientHello is evicted (default 15000)')
  .option('--max-connections-per-address <n>', 'open connections per IPv4 address or IPv6 /64; more are reset (default 256)')
  .option('--client-hello-timeout <duration>', 'from accept until the TLS ClientHello has arrived (default 5s)')
  .option('--tls-handshake-timeout <duration>', 'from accept until the TLS handshake is done (default 15s)')
  .option('--tls-slot-timeout <duration>', 'how long one TLS handshake holds its slot at most (default 2s)')
  .option('--headers-timeout <duration>', 'after TLS or between requests, until request headers are complete (default 10s)')
  .option('--request-timeout <duration>', 'until the whole request has arrived (default 30s)')
  .option('--keep-alive-timeout <duration>', 'idle kept-alive API connections are closed after this (default 30s)')
  .option('--handshake-timeout <duration>', 'after a websocket upgrade, until the tunnel handshake is done (default 10s)')
  .option('--pairing-attempts-per-minute <n>', 'failed pairing attempts allowed per source address per minute (default 20)')
  .option('--unauthenticated-per-minute <n>', 'calls without a valid API key or client certificate per source address per minute (default 60)')
  .option('--registry-dir <dir>', 'folder of the public pack registry, owned by this process only (default <data-dir>/registry on SQLite; none on PostgreSQL)')
  .option('--no-registry', 'host no public pack registry (give it to one relay of several)')
  .option('--registry-username <name>', "the public registry's operator account: push, tag, delete (with --registry-password-file)")
  .option('--registry-password-file <file>', "file (0600) holding the operator's password")
  .action(serveCommand);

program.command('packs').description('The public pack registry.')
  .command('import')
  .description('Check pack folders and zips and store them in the public registry, offline (stop the relay owning it first); prints {name, version, digest} per pack.')
  .argument('<source...>', 'pack folders (zipped as packctl build does) or pack zips')
  .option('--data-dir <dir>', 'the relay data dir; the registry is <data-dir>/registry (required unless --registry-dir)')
  .option('--registry-dir <dir>', 'the registry folder, when the relay runs with --registry-dir')
  .option('--force', 'replace a version that exists with other content')
  .option('--message <text>', 'kept with each imported version')
  .action(packsImportCommand);

program.command('admin').description('Administration of the relay store.')
  .command('create-tenant')
  .description('Create a tenant with a default project and an admin; prints {tenantId, projectId, apiKey} once.')
  .option('--data-dir <dir>', 'the relay data dir, for its hash key (required)')
  .option('--name <name>', 'tenant name (required)')
  .option('--database-url <url>', 'postgres://… (default SQLite relay.db in the data dir)')
  .action(createTenantCommand);

await runProgram(program, process.argv.slice(2));
