import Fastify, { type FastifyInstance } from 'fastify';
import swagger from '@fastify/swagger';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Server } from 'node:https';
import type { Logger } from 'pino';
import type { TenancyStore } from '../store/tenancy-store.js';
import { bearerAuth } from './authenticate.js';
import { gatewayRoutes, type GatewayRouteDeps } from './gateway-routes.js';
import { installErrorHandlers } from './http-errors.js';
import { tenancyRoutes } from './tenancy-routes.js';

export interface ApiServerOptions {
  readonly tls: { key: string; cert: string; ca: string; ticketKeys: Buffer };
  readonly logger: Logger;
  readonly tenancy: TenancyStore;
  readonly gateways: GatewayRouteDeps;
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
  const app = Fastify({
    loggerInstance: options.logger,
    https: { key: options.tls.key, cert: options.tls.cert, ca: options.tls.ca, requestCert: true, rejectUnauthorized: false, handshakeTimeout: 10_000, ticketKeys: options.tls.ticketKeys, sessionIdContext: 'pcg-relay' },
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
  await app.register((scoped, _opts, done) => {
    scoped.addHook('preHandler', bearerAuth(options.tenancy));
    tenancyRoutes(scoped, options.tenancy);
    gatewayRoutes(scoped, options.gateways);
    done();
  });
  return app;
}
