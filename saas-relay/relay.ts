import { mkdir } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { silenceLimitMs } from '../proto/limits.js';
import { createApiServer, type ApiServer } from './api/api-server.js';
import { createRelayLogger } from './logger.js';
import { PairingCodes } from './pairing/pairing-codes.js';
import { PairingService } from './pairing/pairing-service.js';
import { resolveRelayOptions, type RelayOptions, type ResolvedRelayOptions } from './relay-options.js';
import { AddressRateLimiter } from './security/address-rate-limiter.js';
import { SecretHasher } from './security/secret-hasher.js';
import { openDatabase, type Database } from './store/database.js';
import { GatewayEvents } from './store/gateway-events.js';
import { GatewayStore } from './store/gateway-store.js';
import { TenancyStore } from './store/tenancy-store.js';
import { loadRelayPki, type RelayPki } from './tls/relay-pki.js';
import { PackSyncStore } from './registry/pack-sync-store.js';
import { gatewayPackLister } from './registry/pack-sync-routes.js';
import { packResyncOperation } from './tunnel/handlers/pack-sync-handlers.js';
import { relayHandlers } from './tunnel/relay-handlers.js';
import { TunnelHub } from './tunnel/tunnel-hub.js';
import { GatewayCalls } from './tunnel/gateway-calls.js';
import { inventoryOperation } from './tunnel/handlers/inventory-handlers.js';
import { newId } from './store/ids.js';
import type { RelaySignals } from './store/relay-signals.js';
import { TunnelRequestStore } from './store/tunnel-request-store.js';
import { clusterApiDeps } from './clusters/cluster-api-deps.js';
import { ClusterDrift } from './jobs/cluster-drift.js';
import { ClusterEventFeed } from './jobs/cluster-event-feed.js';
import { JobDispatcher } from './jobs/job-dispatcher.js';
import { JobOutcomes } from './jobs/job-outcomes.js';
import { ClusterEventStore } from './store/cluster-event-store.js';
import { JobReportStore } from './store/job-report-store.js';
import { JobStore } from './store/job-store.js';
import { PublicRegistry } from './registry/public-registry.js';

export type RelayState = 'listening' | 'closing' | 'closed';

/** The relay process: store, PKI, REST API and tunnel hub on one HTTPS listener. */
export class Relay {
  state: RelayState = 'listening';

  private constructor(
    readonly options: ResolvedRelayOptions,
    /** This process's id among relays sharing a store. */
    readonly relayId: string,
    readonly log: Logger,
    readonly database: Database,
    readonly pki: RelayPki,
    readonly tenancy: TenancyStore,
    readonly gateways: GatewayStore,
    readonly hub: TunnelHub,
    readonly calls: GatewayCalls,
    private readonly signals: RelaySignals,
    private readonly app: ApiServer,
    /** Jobs with their cluster outcomes (the dispatcher, the job handlers and routes use this one). */
    readonly jobs: JobStore,
    readonly dispatcher: JobDispatcher,
    private readonly eventFeed: ClusterEventFeed,
    /** The public pack registry; null when this relay hosts none (`--no-registry`, or PostgreSQL without `--registry-dir`). */
    readonly registry: PublicRegistry | null,
  ) {}

  /** Opens everything in order; whatever opened is closed again if a later step fails. */
  static async create(input: RelayOptions): Promise<Relay> {
    const options = resolveRelayOptions(input);
    const log = options.logger ?? createRelayLogger();
    const clock = options.clock;
    await mkdir(options.dataDir, { recursive: true, mode: 0o700 });
    const pki = await loadRelayPki({ dataDir: options.dataDir, serverHosts: options.tlsHosts, tlsCertFile: options.tlsCertFile, tlsKeyFile: options.tlsKeyFile, now: clock.now() });
    const database = await openDatabase(options.databaseUrl, { poolSize: options.databasePoolSize });
    const relayId = newId('rly');
    let hub: TunnelHub | undefined;
    let signals: RelaySignals | undefined;
    let calls: GatewayCalls | undefined;
    let dispatcher: JobDispatcher | undefined;
    let eventFeed: ClusterEventFeed | undefined;
    let registry: PublicRegistry | null = null;
    try {
      const hasher = new SecretHasher(pki.hashKey);
      const tenancy = new TenancyStore(database.db, hasher, clock);
      const gateways = new GatewayStore(database.db, clock);
      const codes = new PairingCodes(database.db, hasher, clock, options.pairingCodeTtlMs);
      const pairing = new PairingService(database.db, codes, gateways, pki.ca, clock, { clientCertLifetimeMs: options.clientCertLifetimeMs });
      // Before the hub: the job handlers signal after they store a report.
      signals = await database.createSignals(log);
      const hooks = new JobOutcomes(clock);
      const jobs = new JobStore(database.db, clock, { hooks });
      const reports = new JobReportStore(database.db, clock, { hooks });
      const clusterEvents = new ClusterEventStore(database.db, clock);
      const packSync = new PackSyncStore(database.db, clock);
      hub = await TunnelHub.create({
        path: '/v1/tunnel', heartbeatSeconds: options.heartbeatSeconds, maxConcurrentHandshakes: options.maxConcurrentHandshakes,
        busyRetryAfterMs: options.busyRetryAfterMs, maxFrameBytes: options.maxFrameBytes, handshakeTimeoutMs: options.handshakeTimeoutMs,
        eventPollMs: options.eventPollMs, relayId,
      }, {
        gateways, events: new GatewayEvents(database.db, clock), handshake: {
          gateways, pairing, signingKey: pki.signingKey,
          limits: {
            pairing: new AddressRateLimiter({ perMinute: options.pairingAttemptsPerMinute }, clock),
            unauthenticated: new AddressRateLimiter({ perMinute: options.unauthenticatedPerMinute }, clock),
          },
        }, clock, log,
        handlers: relayHandlers({
          gateways, ca: pki.ca, clock, log, clientCertLifetimeMs: options.clientCertLifetimeMs,
          jobs: { reports, drift: new ClusterDrift(database.db, jobs, clock), signals, log },
          packSync: { packSync, log },
        }),
      });
      const offlineAfterMs = silenceLimitMs(options.heartbeatSeconds) + 2000;
      calls = GatewayCalls.create({ relayId, offlineAfterMs, pollMs: options.routePollMs, claimTimeoutMs: 3000 }, {
        hub, gateways, requests: new TunnelRequestStore(database.db, clock), signals, clock, log,
        operations: [inventoryOperation, packResyncOperation],
      });
      dispatcher = JobDispatcher.create({ relayId, pollMs: options.routePollMs }, { hub, jobs, signals, clock, log });
      eventFeed = ClusterEventFeed.create({ pollMs: options.routePollMs }, { events: clusterEvents, signals, log });
      // Before the API server: its routes and the profile checks use it.
      registry = options.registryDir === null ? null
        : await PublicRegistry.open({ dir: options.registryDir, operator: options.registryOperator }, {
          apiKeys: tenancy, clock, log, gatewayPacks: gatewayPackLister({ apiKeys: tenancy, gateways, packSync }),
          // A revoked gateway's certificate stays valid until it expires: pull-through asks the store.
          gateways: { isActive: async (id) => { const row = await gateways.findById(id); return row !== undefined && row.revoked_at === null; } },
        });
      const app = await createApiServer({
        tls: { key: pki.serverKeyPem, cert: pki.serverCertPem, ca: pki.ca.certPem, ticketKeys: pki.ticketKeys },
        logger: log,
        tenancy,
        unauthenticatedPerMinute: options.unauthenticatedPerMinute,
        gateways: { gateways, codes, hub, calls, clock, caPin: pki.caPin, offlineAfterMs, inventoryTimeoutMs: options.inventoryTimeoutMs },
        clusters: { ...clusterApiDeps({ db: database.db, tenancy, gateways, calls, signals, clock, log, offlineAfterMs, inventoryTimeoutMs: options.inventoryTimeoutMs }), packs: registry?.catalog ?? null },
        registry,
        jobs: { jobs, events: clusterEvents, signals, feed: eventFeed },
        packSync: { packSync, gateways, calls },
        // Bounds and deadlines from accept to request (ConnectionGate, HTTP timeouts); picks its keys from the options.
        connections: options,
      });
      const tunnelHub = hub;
      app.server.on('upgrade', (req, socket, head) => tunnelHub.handleUpgrade(req, socket, head));
      // A deep backlog: after a relay restart thousands of gateways connect within seconds.
      await app.listen({ host: options.host, port: options.port, backlog: 4096 });
      const relay = new Relay(options, relayId, log, database, pki, tenancy, gateways, hub, calls, signals, app, jobs, dispatcher, eventFeed, registry);
      log.info({ url: relay.url, caPin: pki.caPin, store: database.dialect, relayId, registryDir: options.registryDir }, 'relay listening');
      return relay;
    } catch (err) {
      await eventFeed?.close();
      await dispatcher?.close();
      calls?.close();
      await signals?.close();
      hub?.close();
      await registry?.close();
      await database.close();
      throw err;
    }
  }

  get port(): number {
    return (this.app.server.address() as AddressInfo).port;
  }

  /** Base URL; gateways use it for pairing and the tunnel. */
  get url(): string {
    const host = this.options.host === '0.0.0.0' || this.options.host === '::' ? 'localhost' : this.options.host;
    return `https://${host.includes(':') ? `[${host}]` : host}:${this.port}`;
  }

  /** Idempotent. */
  async close(): Promise<void> {
    if (this.state !== 'listening') return;
    this.state = 'closing';
    // Streams and dispatch first: both read the store until they stop.
    await this.eventFeed.close();
    await this.dispatcher.close();
    this.calls.close();
    this.hub.close();
    await this.app.close();
    // After the server: no request reads the registry's store any more.
    await this.registry?.close();
    await this.signals.close();
    await this.database.close();
    this.state = 'closed';
  }
}
