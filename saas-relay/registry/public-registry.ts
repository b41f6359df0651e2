import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Clock } from '../../proto/clock.js';
import { GcSchedule } from '../../proto/registry/gc-schedule.js';
import { AuthLimiter } from '../../proto/registry/registry-auth-limiter.js';
import { loadTokenKey } from '../../proto/registry/token-key.js';
import { PublicPackStore, type PublicPackCatalog } from './public-pack-store.js';
import { challengePackRequest } from '../../proto/registry/pack-challenge.js';
import { gatewayCertificateHook, PublicRegistryAuth, PublicRegistryCredentials, type ApiKeyCheck, type GatewayCheck, type RegistryOperator } from './public-registry-auth.js';
import type { GatewayPackLister } from './pack-sync-routes.js';
import { publicRegistryRoutes } from './public-registry-routes.js';

export interface PublicRegistryOptions {
  /** The registry folder (see PublicPackStore for its layout). */
  readonly dir: string;
  /** Who may push, tag and delete; null: nobody over the network, `pcg-relay packs import` only. */
  readonly operator: RegistryOperator | null;
  /** How often unreferenced blobs are collected (the store's grace period protects fresh pushes). @default 3_600_000 (1 h) */
  readonly gcIntervalMs?: number;
}

/**
 * The public pack registry a relay hosts: the same code as the gateway's embedded registry
 * (proto/registry/: FsContentStore, PackRegistry, the OCI and native routes) over a folder of the
 * relay's data dir, mounted on the relay's HTTPS listener. Every tenant's API key pulls; only the
 * operator account writes. Opened by Relay.create before the API server listens, closed after it.
 */
export class PublicRegistry {
  #closed = false;

  private constructor(private readonly content: PublicPackStore, readonly auth: PublicRegistryAuth, private readonly authLimiter: AuthLimiter,
    private readonly gc: GcSchedule, private readonly log: Logger, private readonly gatewayPacks: GatewayPackLister | undefined,
    private readonly gateways: GatewayCheck | undefined) {}

  static async open(options: PublicRegistryOptions, ports: {
    readonly apiKeys: ApiKeyCheck; readonly clock: Clock; readonly log: Logger;
    /** Answers `GET /v1/packs?source=gateway:<id>` (pack-sync-routes.ts). @default none: 400 */
    readonly gatewayPacks?: GatewayPackLister;
    /** Refuses the client certificates of revoked or deleted gateways (pull-through). @default none: any valid certificate this relay issued */
    readonly gateways?: GatewayCheck;
  }): Promise<PublicRegistry> {
    const credentials = await PublicRegistryCredentials.load(options.operator, ports.apiKeys);
    const content = await PublicPackStore.open(options.dir, { clock: ports.clock });
    try {
      const auth = new PublicRegistryAuth({ credentials, key: await loadTokenKey(options.dir), clock: ports.clock }, ports.apiKeys);
      const log = ports.log.child({ component: 'public-registry' });
      return new PublicRegistry(content, auth, new AuthLimiter({}, ports.clock), GcSchedule.start(content.store, options.gcIntervalMs ?? 3_600_000, log), log, ports.gatewayPacks, ports.gateways);
    } catch (err) {
      await content.close();
      throw err;
    }
  }

  /** What profile checks read. */
  get catalog(): PublicPackCatalog {
    return this.content;
  }

  /**
   * Registers `/v2/` and `/v1/packs` on the relay's server; before listen(). In a scope of their
   * own with two hooks: gateways' client certificates (pull-through) and the `/v1/packs` 401 challenge.
   */
  async register(app: FastifyInstance): Promise<void> {
    await app.register(async (scope) => {
      scope.addHook('onRequest', gatewayCertificateHook(this.auth, this.gateways));
      scope.addHook('onSend', async (request, reply, payload) => {
        if (request.url.startsWith('/v1/packs')) challengePackRequest(this.auth, request, reply);
        return payload;
      });
      await publicRegistryRoutes(scope, { store: this.content.store, packs: this.content.packs, auth: this.auth, authLimiter: this.authLimiter, log: this.log, ...(this.gatewayPacks ? { gatewayPacks: this.gatewayPacks } : {}) });
    });
  }

  /** Idempotent; after the HTTPS server closed (no request is using the store then). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.gc.close();
    await this.content.close();
  }
}
