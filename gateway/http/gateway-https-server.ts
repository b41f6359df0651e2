import { DEFAULT_CIPHERS } from 'node:tls';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { hostname, networkInterfaces } from 'node:os';
import type { Logger } from 'pino';
import type { Clock } from '../../proto/clock.js';
import { PcgError } from '../../proto/errors.js';
import { loadGatewayTls, type GatewayTls } from './gateway-tls.js';

/**
 * Node's default order puts AES-256-GCM first; AES-128-GCM is as safe for TLS and ~6% cheaper per
 * byte, which is what a registry serving 100 MiB blobs spends its CPU on (Go's servers, docker's
 * distribution among them, prefer it too). Only the order changes, not the set.
 */
const AES_128_FIRST = ['TLS_AES_128_GCM_SHA256', ...DEFAULT_CIPHERS.split(':').filter((c) => c !== 'TLS_AES_128_GCM_SHA256')].join(':');

export interface GatewayHttpsOptions {
  /** Address to listen on. @default '0.0.0.0' */
  readonly host: string;
  /** Port; 0 picks a free one (tests). @default 8443 */
  readonly port: number;
  /** The URL nodes dial (https://name:port); null derives it from the host and the port bound. @default null */
  readonly publicUrl: string | null;
  /** PEM chain and key to serve instead of the generated ones. @default null */
  readonly certFile: string | null;
  readonly keyFile: string | null;
  readonly stateDir: string;
}

export type GatewayHttpsApp = FastifyInstance<Server, IncomingMessage, ServerResponse, FastifyBaseLogger>;

export type HttpsServerState = 'created' | 'listening' | 'closed';

const WILDCARDS = new Set(['0.0.0.0', '::', '']);

/**
 * The gateway's own HTTPS server: nodes phone home here (gateway/nodes/), and the pack registry
 * adds its routes to the same server. create() makes the TLS material and the app; routes are
 * added to `app`, then listen(). Request logging is off: node tokens travel in URLs.
 */
export class GatewayHttpsServer {
  #state: HttpsServerState = 'created';
  #url: string | undefined;

  private constructor(readonly app: GatewayHttpsApp, private readonly tls: GatewayTls, private readonly options: GatewayHttpsOptions, private readonly log: Logger) {}

  static async create(options: GatewayHttpsOptions, ports: { readonly clock: Clock; readonly log: Logger }): Promise<GatewayHttpsServer> {
    const tls = await loadGatewayTls({
      stateDir: options.stateDir, certFile: options.certFile, keyFile: options.keyFile, now: ports.clock.now(), hosts: certificateHosts(options),
    });
    // No fastify logger at all, so no request lines: node tokens travel in query strings.
    const app = Fastify({ https: { key: tls.keyPem, cert: tls.certPem, ciphers: AES_128_FIRST, honorCipherOrder: true }, logger: false, bodyLimit: 65_536, forceCloseConnections: true });
    app.setErrorHandler((err: Error & { validation?: unknown; statusCode?: number }, request, reply) => {
      // Fastify's own 4xx (validation, body too large, unsupported media type) are the client's to fix.
      const clientError = err.validation !== undefined || (err.statusCode !== undefined && err.statusCode >= 400 && err.statusCode < 500);
      const error = err instanceof PcgError ? err : clientError ? new PcgError('PCG_ERR_BAD_REQUEST', err.message) : undefined;
      if (!error) ports.log.error({ err, method: request.method, route: request.routeOptions.url }, 'gateway HTTPS request failed');
      const sent = error ?? new PcgError('PCG_ERR_INTERNAL');
      void reply.code(sent.httpStatus).send({ code: sent.code, message: sent.message });
    });
    app.setNotFoundHandler((_request, reply) => {
      const error = new PcgError('PCG_ERR_NOT_FOUND', 'no such route on the gateway');
      void reply.code(404).send({ code: error.code, message: error.message });
    });
    return new GatewayHttpsServer(app, tls, options, ports.log);
  }

  get state(): HttpsServerState {
    return this.#state;
  }

  /** What nodes trust the gateway with (PEM). */
  get caPem(): string {
    return this.tls.caPem;
  }

  /** The base URL nodes dial, without a trailing slash; known once listening. */
  get url(): string {
    if (!this.#url) throw new Error('GatewayHttpsServer.url before listen()');
    return this.#url;
  }

  async listen(): Promise<this> {
    if (this.#state !== 'created') throw new Error(`GatewayHttpsServer.listen() in state ${this.#state}`);
    await this.app.listen({ host: this.options.host, port: this.options.port });
    this.#state = 'listening';
    const { port } = this.app.server.address() as AddressInfo;
    this.#url = this.options.publicUrl?.replace(/\/+$/, '') ?? `https://${urlHost(derivedHost(this.options.host))}:${port}`;
    this.log.info({ url: this.#url, listen: `${this.options.host}:${port}` }, 'gateway HTTPS listening');
    return this;
  }

  /** Idempotent. */
  async close(): Promise<void> {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    await this.app.close();
  }
}

/** The listen host when it is an address nodes can dial, else this machine's first external IPv4. */
function derivedHost(listenHost: string): string {
  if (!WILDCARDS.has(listenHost)) return listenHost;
  return externalAddresses().find((a) => !a.includes(':')) ?? '127.0.0.1';
}

const urlHost = (host: string): string => (host.includes(':') ? `[${host}]` : host);

function externalAddresses(): string[] {
  return Object.values(networkInterfaces()).flatMap((list) => list ?? [])
    .filter((a) => !a.internal && !a.address.startsWith('fe80:'))
    .map((a) => a.address);
}

/** Every name a node might dial: loopback, this host's name and addresses, the listen host, the public URL's host. */
function certificateHosts(options: GatewayHttpsOptions): string[] {
  const hosts = ['localhost', '127.0.0.1', '::1', hostname(), ...externalAddresses()];
  if (!WILDCARDS.has(options.host)) hosts.push(options.host);
  if (options.publicUrl) {
    try {
      hosts.push(new URL(options.publicUrl).hostname.replace(/^\[|\]$/g, ''));
    } catch {
      throw new PcgError('PCG_ERR_CONFIG_INVALID', `https.publicUrl: "${options.publicUrl}" is not a URL like https://gateway.example:8443`);
    }
  }
  return [...new Set(hosts.filter((h) => h.length > 0))];
}
