import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Clock } from '../../proto/clock.js';
import type { ContentStore } from '../../proto/registry/content-store.js';
import { FsContentStore } from '../../proto/registry/fs-content-store.js';
import { GcSchedule } from '../../proto/registry/gc-schedule.js';
import { ociRoutes } from '../../proto/registry/oci-routes.js';
import type { PackRegistry } from '../../proto/registry/pack-registry.js';
import { RegistryAuth } from '../../proto/registry/registry-auth.js';
import { AuthLimiter } from '../../proto/registry/registry-auth-limiter.js';
import { loadTokenKey } from '../../proto/registry/token-key.js';
import type { GatewayHttpsApp } from '../http/gateway-https-server.js';
import type { ProxyEnv } from '../net/proxy-for-url.js';
import type { ClusterPacks } from '../jobs/job-executor.js';
import { ClusterPackPreparer } from './cluster-pack-preparer.js';
import { ClusterPackScopes } from './cluster-pack-scopes.js';
import { gatewayPackRoutes } from './gateway-pack-routes.js';
import { GatewayRegistryCredentials, type PackReadTokens } from './gateway-registry-credentials.js';
import { PublicUpstream } from './public-upstream.js';
import { PullThroughStore } from './pull-through-store.js';
import type { PublicPackPuller } from './public-pack-puller.js';

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
 * ─── The place for more route sets ───────────────────────────────────────────────────────────
 * Registered after `/v2/` and the gateway's pack API (gateway-pack-routes.ts: `/v1/packs` with
 * pull-through and its challenge), on the same server, store and auth: add a function here.
 */
export const PACK_ROUTES: readonly RegistryRoutes[] = [];

/** The OCI distribution API, encapsulated (its body parser, hooks and error handler stay under /v2/). */
const ociApi = (onManifestChange: (repository: string) => Promise<void>): RegistryRoutes => async (app, { store, auth, authLimiter, log }) => {
  await app.register(ociRoutes, { store, auth, authLimiter, log, onManifestChange });
};

/**
 * The gateway's embedded registry: the content store in `<stateDir>/registry/` and its routes on
 * the gateway's HTTPS server (registered before listen()). Auth: the admin account from config
 * and the clusters' pack read tokens, each scoped to its cluster's packs (cluster-packs.json);
 * bearer tokens are signed with a key kept in the folder (0600).
 *
 * On a paired gateway the store has the relay's public registry behind it (PullThroughStore over
 * HTTPS with the gateway's client certificate): a `packs/<name>` manifest or blob the gateway
 * lacks is pulled from the relay once, verified, kept, and served from here.
 */
export class EmbeddedRegistry {
  #closed = false;

  private constructor(readonly store: ContentStore, readonly auth: RegistryAuth, private readonly gc: GcSchedule,
    private readonly local: FsContentStore, private readonly upstream: PublicUpstream | null,
    /** What the job executor readies before nodes boot (withClusterPacks). */
    readonly clusterPacks: ClusterPacks) {}

  static async open(options: EmbeddedRegistryOptions, ports: {
    readonly app: GatewayHttpsApp; readonly clock: Clock; readonly log: Logger;
    readonly readTokens: PackReadTokens;
    /** @default [ociApi, the gateway's pack API, ...PACK_ROUTES] */
    readonly routes?: readonly RegistryRoutes[];
    /** Where public packs come from. @default the relay the state dir is paired with (none when unpaired); null: no pull-through */
    readonly upstream?: PublicUpstream | null;
    /** HTTPS_PROXY / NO_PROXY for the default upstream. @default none */
    readonly proxy?: ProxyEnv;
  }): Promise<EmbeddedRegistry> {
    const dir = join(options.stateDir, REGISTRY_DIR);
    const local = await FsContentStore.open(dir, { clock: ports.clock });
    let upstream: PublicUpstream | null = null;
    try {
      const scopes = await ClusterPackScopes.open(dir);
      const credentials = await GatewayRegistryCredentials.load(options, ports.readTokens, scopes);
      upstream = ports.upstream === undefined ? await PublicUpstream.ofStateDir(options.stateDir, { ...(ports.proxy ? { proxy: ports.proxy } : {}) }) : ports.upstream;
      const store = upstream ? new PullThroughStore(local, upstream) : local;
      const auth = new RegistryAuth({}, { credentials, key: await loadTokenKey(dir), clock: ports.clock });
      const log = ports.log.child({ component: 'registry' });
      // One budget of failed logins per address for every registry route (password guessing).
      const authLimiter = new AuthLimiter({}, ports.clock);
      let puller: PublicPackPuller | null = null;
      // The OCI routes are registered before the pack API exists: a push over /v2/ reindexes
      // through this late binding, so /v1/packs shows it at once.
      let packs: PackRegistry | null = null;
      const packApi: RegistryRoutes = async (app) => {
        ({ puller, packs } = await gatewayPackRoutes(app, { store, auth, pullThrough: upstream !== null }));
      };
      const reindex = async (repository: string): Promise<void> => packs?.reindexPack(repository);
      for (const register of ports.routes ?? [ociApi(reindex), packApi, ...PACK_ROUTES]) await register(ports.app, { store, auth, authLimiter, log });
      return new EmbeddedRegistry(store, auth, GcSchedule.start(store, options.gcIntervalMs ?? 3_600_000, log), local, upstream, new ClusterPackPreparer(scopes, puller));
    } catch (err) {
      await upstream?.close();
      await local.close();
      throw err;
    }
  }

  /** Idempotent; after the HTTPS server closed (no request is using the store then). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.gc.close();
    await this.upstream?.close();
    await this.local.close();
  }
}
