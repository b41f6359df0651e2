import Fastify, { type FastifyInstance } from 'fastify';
import swagger from '@fastify/swagger';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Server } from 'node:https';
import type { Logger } from 'pino';
import type { TenancyStore } from '../store/tenancy-store.js';
import { apiAuthentication } from './api-authentication.js';
import { gatewayRoutes, type GatewayRouteDeps } from './gateway-routes.js';
import { installErrorHandlers } from './http-errors.js';
import { tenancyRoutes } from './tenancy-routes.js';
import { profileRoutes, type ProfileRouteDeps } from './profile-routes.js';
import { ipPoolRoutes, type IpPoolRouteDeps } from './ip-pool-routes.js';
import { clusterRoutes, type ClusterRouteDeps } from './cluster-routes.js';
import { jobRoutes, type JobRouteDeps } from './job-routes.js';
import { eventRoutes, type EventRouteDeps } from './event-routes.js';
import { packSyncRoutes, type PackSyncRouteDeps } from '../registry/pack-sync-routes.js';
import { ConnectionGate } from '../net/connection-gate.js';
import { connectionLimits, type ConnectionLimits } from '../net/connection-limits.js';
import { nodeServerTimeouts } from '../net/http-timeouts.js';

export interface ApiServerOptions {
  readonly tls: { key: string; cert: string; ca: string; ticketKeys: Buffer };
  readonly logger: Logger;
  readonly tenancy: TenancyStore;
  readonly gateways: GatewayRouteDeps;
  /** Cluster profiles, IP pools and clusters. */
  readonly clusters: ProfileRouteDeps & IpPoolRouteDeps & ClusterRouteDeps;
  /** Jobs (status, cancel) and cluster events (list, live stream). */
  readonly jobs: JobRouteDeps & EventRouteDeps;
  /** Requests without a valid API key per source address per minute, then 429. @default 60 */
  readonly unauthenticatedPerMinute?: number;
  /** The public pack registry's routes (`/v2/`, `/v1/packs`), with their own auth; null: none on this relay. @default null */
  readonly registry?: { register(app: FastifyInstance): Promise<void> } | null;
  /** Gateways' pack index sync (status, sync now); absent: no such routes. */
  readonly packSync?: PackSyncRouteDeps;
  /** Connection bounds and deadlines before TLS (ConnectionGate) and after it (HTTP); defaults per field, other keys ignored. */
  readonly connections?: Partial<ConnectionLimits>;
}

/**
 * The relay's HTTPS server: REST API under /v1 (schema-validated, OpenAPI at /docs/json). The
 * same TLS listener takes the tunnel's websocket upgrades; it asks for, but does not require, a
 * client certificate: gateways present theirs, API clients have none.
 */
/** What the relay needs of the API server: its listener and its lifecycle. */
export interface ApiServer {
  readonly server: Server;
  listen(options: { host: string; port: number; backlog?: number }): Promise<string>;
  close(): Promise<undefined>;
}

export async function createApiServer(options: ApiServerOptions): Promise<ApiServer> {
  const limits = connectionLimits(options.connections);
  const timeouts = nodeServerTimeouts(limits);
  const app = Fastify({
    loggerInstance: options.logger,
    https: {
      key: options.tls.key, cert: options.tls.cert, ca: options.tls.ca, requestCert: true, rejectUnauthorized: false, ticketKeys: options.tls.ticketKeys, sessionIdContext: 'pcg-relay',
      // Counted by node from the start of TLS; the gate's deadline, counted from accept, ends it first.
      handshakeTimeout: limits.tlsHandshakeTimeoutMs,
      // Read by node when the server is made (fastify does not pass these on).
      headersTimeout: timeouts.headersTimeout, connectionsCheckingInterval: timeouts.connectionsCheckingInterval,
    },
    // Fastify sets these on the server after making it; its defaults are "never" and 72 s.
    requestTimeout: timeouts.requestTimeout, keepAliveTimeout: timeouts.keepAliveTimeout,
    bodyLimit: 1_048_576,
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, allErrors: false } },
  }).withTypeProvider<TypeBoxTypeProvider>();
  await app.register(swagger, {
    openapi: {
      info: { title: 'PCG relay API', version: '1' },
      components: { securitySchemes: { apiKey: { type: 'http', scheme: 'bearer' } } },
      security: [{ apiKey: [] }],
    },
  });
  installErrorHandlers(app as unknown as FastifyInstance);
  app.get('/docs/json', { schema: { hide: true } }, () => app.swagger());
  app.get('/healthz', { schema: { hide: true } }, () => ({ ok: true }));
  const authentication = await apiAuthentication(app as unknown as FastifyInstance, options.tenancy, { unauthenticatedPerMinute: options.unauthenticatedPerMinute ?? 60 });
  await app.register((scoped, _opts, done) => {
    authentication.install(scoped);
    tenancyRoutes(scoped, options.tenancy);
    gatewayRoutes(scoped, options.gateways);
    profileRoutes(scoped, options.clusters);
    ipPoolRoutes(scoped, options.clusters);
    clusterRoutes(scoped, options.clusters);
    jobRoutes(scoped, options.jobs);
    eventRoutes(scoped, options.jobs);
    if (options.packSync) packSyncRoutes(scoped, options.packSync);
    done();
  });
  // Outside the API-key scope: registry clients authenticate as the registry expects (see public-registry-routes.ts).
  await options.registry?.register(app as unknown as FastifyInstance);
  const gate = ConnectionGate.install(app.server, limits, options.logger);
  // Sockets still before TLS are unknown to the HTTP server, whose close would wait for their deadlines.
  app.addHook('preClose', (done) => {
    gate.close();
    done();
  });
  return app;
}
