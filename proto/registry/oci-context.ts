import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ContentStore } from './content-store.js';
import type { RegistryAuth, RegistryPrincipal } from './registry-auth.js';
import type { AuthLimiter } from './registry-auth-limiter.js';

export interface OciRoutesOptions {
  readonly store: ContentStore;
  /** Who may do what; null serves without authentication (everyone may pull, push and delete). */
  readonly auth: RegistryAuth | null;
  /** Failed authentications per address; over the limit: 429 TOOMANYREQUESTS. null: unlimited. @default null */
  readonly authLimiter: AuthLimiter | null;
  /** Manifest and blob DELETE; when false they answer 405 UNSUPPORTED (the spec's "disabled"). @default true */
  readonly deleteEnabled: boolean;
  /** Larger manifests get 413 (the spec: registries should accept at least 4 MiB). @default 4_194_304 */
  readonly maxManifestBytes: number;
  /** Unexpected failures (never with credentials: only method, route and the error). @default none */
  readonly log: { error(obj: object, msg: string): void } | null;
  /**
   * Told after a manifest or tag of `repository` was stored or deleted, before the client gets its
   * answer, so what is built on the store (the pack index: PackRegistry.reindexPack) has caught up
   * by the time the client acts on the answer. A failure is logged, never the client's: the
   * manifest is stored either way. @default none
   */
  readonly onManifestChange?: ((repository: string) => Promise<void>) | undefined;
}

export const DEFAULT_OCI_ROUTES_OPTIONS: Omit<OciRoutesOptions, 'store' | 'auth'> = Object.freeze({ authLimiter: null, deleteEnabled: true, maxManifestBytes: 4 * 1024 * 1024, log: null });

/** What every handler gets: the options and the request's principal (null when auth is off). */
export interface OciContext {
  readonly options: OciRoutesOptions;
  readonly principal: RegistryPrincipal | null;
  /** Whether the principal may pull `repo` (for mounts: a blob is only mounted from where the pusher may read). */
  canPull(repo: string): boolean;
}

export type OciHandler<E> = (ctx: OciContext, endpoint: E, request: FastifyRequest, reply: FastifyReply) => Promise<void>;

/** The query string's values of `key` (repeated keys give several). */
export function queryValues(request: FastifyRequest, key: string): string[] {
  const query = request.url.includes('?') ? request.url.slice(request.url.indexOf('?') + 1) : '';
  return new URLSearchParams(query).getAll(key);
}

export const queryValue = (request: FastifyRequest, key: string): string | undefined => queryValues(request, key)[0];

/** A path the client can follow, relative to the registry (the spec allows relative Location values). */
export const blobPath = (name: string, digest: string): string => `/v2/${name}/blobs/${digest}`;
export const uploadPath = (name: string, id: string): string => `/v2/${name}/blobs/uploads/${id}`;
export const manifestPath = (name: string, reference: string): string => `/v2/${name}/manifests/${reference}`;
