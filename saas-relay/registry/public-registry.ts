import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { writeFileAtomic } from '../../proto/atomic-file.js';
import type { Clock } from '../../proto/clock.js';
import { AuthLimiter } from '../../proto/registry/registry-auth-limiter.js';
import { Secret } from '../../proto/secret.js';
import { PublicPackStore, type PublicPackCatalog } from './public-pack-store.js';
import { PublicRegistryAuth, PublicRegistryCredentials, type ApiKeyCheck, type RegistryOperator } from './public-registry-auth.js';
import { publicRegistryRoutes } from './public-registry-routes.js';

const TOKEN_KEY_FILE = 'token.key';

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
  #collecting: Promise<unknown> = Promise.resolve();
  readonly #timer: NodeJS.Timeout;

  private constructor(private readonly content: PublicPackStore, readonly auth: PublicRegistryAuth, private readonly authLimiter: AuthLimiter,
    gcIntervalMs: number, private readonly log: Logger) {
    this.#timer = setInterval(() => this.#collect(), gcIntervalMs);
    this.#timer.unref();
  }

  static async open(options: PublicRegistryOptions, ports: { readonly apiKeys: ApiKeyCheck; readonly clock: Clock; readonly log: Logger }): Promise<PublicRegistry> {
    const credentials = await PublicRegistryCredentials.load(options.operator, ports.apiKeys);
    const content = await PublicPackStore.open(options.dir, { clock: ports.clock });
    try {
      const auth = new PublicRegistryAuth({ credentials, key: new Secret(await tokenKey(options.dir)), clock: ports.clock }, ports.apiKeys);
      const log = ports.log.child({ component: 'public-registry' });
      return new PublicRegistry(content, auth, new AuthLimiter({}, ports.clock), options.gcIntervalMs ?? 3_600_000, log);
    } catch (err) {
      await content.close();
      throw err;
    }
  }

  /** What profile checks read. */
  get catalog(): PublicPackCatalog {
    return this.content;
  }

  /** Registers `/v2/` and `/v1/packs` on the relay's server; before listen(). */
  register(app: FastifyInstance): Promise<void> {
    return publicRegistryRoutes(app, { store: this.content.store, packs: this.content.packs, auth: this.auth, authLimiter: this.authLimiter, log: this.log });
  }

  /** Idempotent; after the HTTPS server closed (no request is using the store then). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#timer);
    await this.#collecting;
    await this.content.close();
  }

  /** One collection at a time; a failure is logged and the next tick tries again. */
  #collect(): void {
    if (this.#closed) return;
    this.#collecting = this.#collecting.then(async () => {
      if (this.#closed) return;
      const { removedBlobs, freedBytes } = await this.content.store.collectGarbage();
      if (removedBlobs > 0) this.log.info({ removedBlobs, freedBytes }, 'public registry garbage collected');
    }).catch((err: unknown) => this.log.warn({ err }, 'public registry garbage collection failed'));
  }
}

/** The HS256 key of `/v2/token` bearer tokens, made at first start (0600). */
async function tokenKey(dir: string): Promise<Buffer> {
  const path = join(dir, TOKEN_KEY_FILE);
  if (!existsSync(path)) await writeFileAtomic(path, `${randomBytes(32).toString('hex')}\n`, 0o600);
  return Buffer.from((await readFile(path, 'utf8')).trim(), 'hex');
}
