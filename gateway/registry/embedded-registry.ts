import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Clock } from '../../proto/clock.js';
import type { ContentStore } from '../../proto/registry/content-store.js';
import { FsContentStore } from '../../proto/registry/fs-content-store.js';
import { GcSchedule } from '../../proto/registry/gc-schedule.js';
import { ociRoutes } from '../../proto/registry/oci-routes.js';
import { packRegistryRoutes } from '../../proto/registry/pack-registry-routes.js';
import { RegistryAuth } from '../../proto/registry/registry-auth.js';
import { AuthLimiter } from '../../proto/registry/registry-auth-limiter.js';
import { loadTokenKey } from '../../proto/registry/token-key.js';
import type { GatewayHttpsApp } from '../http/gateway-https-server.js';
import { GatewayRegistryCredentials } from './gateway-registry-credentials.js';

/** The registry's folder in the state dir: blobs, uploads, registry.db, the token key. */
export const REGISTRY_DIR = 'registry';

export interface EmbeddedRegistryOptions {
  readonly stateDir: string;
  /** The admin account (push, pull, delete); null: none, only nodes' read tokens pull. @default null */
  readonly username: string | null;
  /** File holding the admin password, mode 0600. @default null */
  readonly passwordFile: string | null;
  /** How often unreferenced blobs are collected (FsContentStore's grace period protects fresh pushes). @default 3_600_000 (1 h) */
  readonly gcIntervalMs?: number;
}

/** What registers routes of the registry on the gateway's HTTPS server: the OCI API, and the pack API. */
export type RegistryRoutes = (app: GatewayHttpsApp, registry: {
  readonly store: ContentStore; readonly auth: RegistryAuth; readonly authLimiter: AuthLimiter; readonly log: Logger;
}) => Promise<void>;

/**
 * ─── The place for the pack routes ───────────────────────────────────────────────────────────
 * The native `/v1/packs` API (proto/registry/pack-*.ts) registers here, next to `/v2/`, on the
 * same server, store and auth: add its registration function to this array.
 */
export const PACK_ROUTES: readonly RegistryRoutes[] = [packRegistryRoutes];

/** The OCI distribution API, encapsulated (its body parser, hooks and error handler stay under /v2/). */
const ociApi: RegistryRoutes = async (app, { store, auth, authLimiter, log }) => {
  await app.register(ociRoutes, { store, auth, authLimiter, log });
};

/**
 * The gateway's embedded registry: the content store in `<stateDir>/registry/` and its routes on
 * the gateway's HTTPS server (registered before listen()). Auth: the admin account from config
 * and the clusters' pack read tokens; bearer tokens are signed with a key kept in the folder (0600).
 */
export class EmbeddedRegistry {
  #closed = false;

  private constructor(readonly store: FsContentStore, readonly auth: RegistryAuth, private readonly gc: GcSchedule) {}

  static async open(options: EmbeddedRegistryOptions, ports: {
    readonly app: GatewayHttpsApp; readonly clock: Clock; readonly log: Logger;
    readonly readTokens: { verifyPackToken(token: string): string | undefined };
    /** @default [ociApi, ...PACK_ROUTES] */
    readonly routes?: readonly RegistryRoutes[];
  }): Promise<EmbeddedRegistry> {
    const dir = join(options.stateDir, REGISTRY_DIR);
    const credentials = await GatewayRegistryCredentials.load(options, ports.readTokens);
    const store = await FsContentStore.open(dir, { clock: ports.clock });
    try {
      const auth = new RegistryAuth({}, { credentials, key: await loadTokenKey(dir), clock: ports.clock });
      const log = ports.log.child({ component: 'registry' });
      // One budget of failed logins per address for every registry route (password guessing).
      const authLimiter = new AuthLimiter({}, ports.clock);
      for (const register of ports.routes ?? [ociApi, ...PACK_ROUTES]) await register(ports.app, { store, auth, authLimiter, log });
      return new EmbeddedRegistry(store, auth, GcSchedule.start(store, options.gcIntervalMs ?? 3_600_000, log));
    } catch (err) {
      await store.close();
      throw err;
    }
  }

  /** Idempotent; after the HTTPS server closed (no request is using the store then). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.gc.close();
    await this.store.close();
  }
}
