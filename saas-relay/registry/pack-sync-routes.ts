/**
 * Gateways' pack indexes as the relay API shows them:
 *
 *   GET  /v1/gateways/:id/pack-sync      the sync status (status ok | failed | pending, message, times, generation, packs, indexDigest)
 *   POST /v1/gateways/:id/pack-sync      sync now: asks the gateway for a full report and answers with the new status
 *   GET  /v1/packs?source=gateway:<id>   the gateway's packs, paged and filtered like source=public
 *
 * Tenant-scoped: another tenant's gateway is 404, as if it did not exist.
 *
 * `GET /v1/packs` has two homes. On a relay with the public registry, the registry's own route
 * (public-registry-routes.ts, its own auth for packctl and OCI tokens) answers every source and
 * hands `source=gateway:<id>` to gatewayPackLister. This module registers the same path inside the
 * API scope as well, for a relay without one (`--no-registry`): the gateway indexes live in the
 * store and stay listable there, while `source=public` is PCG_ERR_REGISTRY_NOT_HOSTED. The registry's
 * route carries a host constraint that every request meets, and the router tries constrained routes
 * first: so with a registry this route never answers, and without one it is the only one. It is
 * also the route /docs/json describes (the registry's is hidden there).
 */
import { Type, type Static } from '@sinclair/typebox';
import { PcgError } from '../../proto/errors.js';
import * as S from '../api/api-schemas.js';
import { requireTenantAdmin } from '../api/authenticate.js';
import { ERROR_RESPONSES as errors, type RouteApp as App } from '../api/route-app.js';
import type { GatewayStore } from '../store/gateway-store.js';
import type { GatewayCalls } from '../tunnel/gateway-calls.js';
import { packResyncOperation } from '../tunnel/handlers/pack-sync-handlers.js';
import { gatewaySourceOf, PackListQuery, PackListPage, parsePackListQuery, PUBLIC_SOURCE, type PackListFilter } from './pack-sync-listing.js';
import type { ApiKeyCheck } from './public-registry-auth.js';
import type { PackSyncState, PackSyncStore } from './pack-sync-store.js';

export interface PackSyncRouteDeps {
  readonly packSync: PackSyncStore;
  readonly gateways: GatewayStore;
  readonly calls: GatewayCalls;
  /** How long "sync now" waits for the gateway's full report. @default 30_000 */
  readonly syncTimeoutMs?: number;
}

const PackSyncView = Type.Object({
  gatewayId: Type.String(),
  status: Type.Union([Type.Literal('ok'), Type.Literal('failed'), Type.Literal('pending')], { description: 'ok: the relay holds exactly the last report, verified by digest' }),
  message: Type.Union([Type.String(), Type.Null()], { description: 'why the status is failed or pending' }),
  generation: Type.Union([Type.Integer(), Type.Null()], { description: "the gateway's report counter the relay holds" }),
  lastSyncedTime: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  lastRunTime: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  packs: Type.Integer({ minimum: 0 }),
  indexDigest: Type.String({ pattern: '^sha256:[0-9a-f]{64}$', description: 'sha256 over the held index (name version digest lines), as the gateway computes it' }),
}, { $id: 'PackSyncView' });

const view = (gatewayId: string, s: PackSyncState) => ({
  gatewayId, status: s.status, message: s.message, generation: s.generation,
  lastSyncedTime: S.iso(s.lastSyncedAt), lastRunTime: S.iso(s.lastRunAt), packs: s.packs, indexDigest: s.indexDigest,
});

const NOT_HOSTED = { 501: S.ErrorBody } as const;

export function packSyncRoutes(app: App, deps: PackSyncRouteDeps): void {
  app.get('/v1/gateways/:id/pack-sync', {
    schema: { tags: ['packs'], summary: "A gateway's pack index sync status", params: S.IdParam, response: { 200: PackSyncView, ...errors } },
  }, async (req) => {
    const gateway = await deps.gateways.get(req.principal.tenantId, req.params.id);
    return view(gateway.id, await deps.packSync.state(gateway.id));
  });

  app.post('/v1/gateways/:id/pack-sync', {
    schema: { tags: ['packs'], summary: 'Sync now: the gateway sends a full report; answers with the status after it', params: S.IdParam, response: { 200: PackSyncView, ...errors, 503: S.ErrorBody, 504: S.ErrorBody } },
  }, async (req) => {
    requireTenantAdmin(req.principal);
    const gateway = await deps.gateways.get(req.principal.tenantId, req.params.id);
    await deps.packSync.mark(gateway.id, 'pending', 'a sync was asked for');
    try {
      await deps.calls.call(gateway.id, packResyncOperation, {}, { timeoutMs: deps.syncTimeoutMs ?? 30_000 });
    } catch (err) {
      const error = PcgError.wrap(err, 'PCG_ERR_INTERNAL');
      await deps.packSync.mark(gateway.id, 'failed', `${error.code}: ${error.message}`);
      throw error;
    }
    return view(gateway.id, await deps.packSync.state(gateway.id));
  });

  app.get<{ Querystring: Static<typeof PackListQuery> }>('/v1/packs', {
    schema: {
      tags: ['packs'], summary: 'Packs of the public registry or of one of your gateways, paged (limit, cursor → nextCursor)',
      querystring: PackListQuery, response: { 200: PackListPage, ...errors, ...NOT_HOSTED },
    },
  }, async (req) => {
    const gatewayId = gatewaySourceOf(req.query.source);
    if (gatewayId === undefined) {
      throw new PcgError('PCG_ERR_REGISTRY_NOT_HOSTED', `source ${req.query.source ?? PUBLIC_SOURCE}: this relay runs without the public pack registry (--no-registry); list public packs on the relay that hosts it`);
    }
    return listGatewayPacks(deps, req.principal.tenantId, gatewayId, parsePackListQuery(req.query));
  });
}

async function listGatewayPacks(deps: { readonly gateways: GatewayStore; readonly packSync: PackSyncStore }, tenantId: string, gatewayId: string, filter: PackListFilter) {
  const gateway = await deps.gateways.get(tenantId, gatewayId);
  const source = `gateway:${gateway.id}`;
  const page = await deps.packSync.list(gateway.id, filter);
  return {
    items: page.items.map((p) => ({ name: p.name, version: p.version, layer: p.layer, cloudTypes: p.cloudTypes, digest: p.digest, source })),
    nextCursor: page.nextCursor,
  };
}

/** What the registry's `/v1/packs?source=gateway:<id>` answers with; `authorization` is the request's header (a relay API key). */
export type GatewayPackLister = (authorization: string | undefined, gatewayId: string, query: Record<string, unknown>) => Promise<{ items: object[]; nextCursor: string | null }>;

export function gatewayPackLister(deps: { readonly apiKeys: ApiKeyCheck; readonly gateways: GatewayStore; readonly packSync: PackSyncStore }): GatewayPackLister {
  return async (authorization, gatewayId, query) => {
    const key = /^Bearer\s+(\S+)$/i.exec(authorization ?? '')?.[1];
    const caller = key === undefined ? undefined : await deps.apiKeys.authenticate(key);
    if (!caller) throw new PcgError('PCG_ERR_UNAUTHENTICATED', key === undefined ? 'a gateway\'s packs need an API key (Authorization: Bearer)' : 'the API key is unknown or revoked');
    return listGatewayPacks(deps, caller.tenantId, gatewayId, parsePackListQuery(query));
  };
}
