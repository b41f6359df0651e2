/**
 * Gateways' pack indexes as the relay API shows them:
 *
 *   GET  /v1/gateways/:id/pack-sync      the sync status (status ok | failed | pending, message, times, generation, packs)
 *   POST /v1/gateways/:id/pack-sync      sync now: asks the gateway for a full report and answers with the new status
 *   GET  /v1/packs?source=gateway:<id>   the gateway's packs (public-registry-routes.ts hands this case here)
 *
 * Tenant-scoped: another tenant's gateway is 404, as if it did not exist.
 */
import { Type } from '@sinclair/typebox';
import { PcgError } from '../../proto/errors.js';
import * as S from '../api/api-schemas.js';
import { requireTenantAdmin } from '../api/authenticate.js';
import { ERROR_RESPONSES as errors, type RouteApp as App } from '../api/route-app.js';
import type { GatewayStore } from '../store/gateway-store.js';
import type { GatewayCalls } from '../tunnel/gateway-calls.js';
import { packResyncOperation } from '../tunnel/handlers/pack-sync-handlers.js';
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
  status: Type.Union([Type.Literal('ok'), Type.Literal('failed'), Type.Literal('pending')]),
  message: Type.Union([Type.String(), Type.Null()]),
  generation: Type.Union([Type.Integer(), Type.Null()]),
  lastSyncedTime: Type.Union([Type.String(), Type.Null()]),
  lastRunTime: Type.Union([Type.String(), Type.Null()]),
  packs: Type.Integer(),
});

const view = (gatewayId: string, s: PackSyncState) => ({
  gatewayId, status: s.status, message: s.message, generation: s.generation,
  lastSyncedTime: S.iso(s.lastSyncedAt), lastRunTime: S.iso(s.lastRunAt), packs: s.packs,
});

export function packSyncRoutes(app: App, deps: PackSyncRouteDeps): void {
  app.get('/v1/gateways/:id/pack-sync', { schema: { tags: ['packs'], params: S.IdParam, response: { 200: PackSyncView, ...errors } } }, async (req) => {
    const gateway = await deps.gateways.get(req.principal.tenantId, req.params.id);
    return view(gateway.id, await deps.packSync.state(gateway.id));
  });

  app.post('/v1/gateways/:id/pack-sync', { schema: { tags: ['packs'], params: S.IdParam, response: { 200: PackSyncView, ...errors } } }, async (req) => {
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
}

/** What `/v1/packs?source=gateway:<id>` answers with; `authorization` is the request's header (a relay API key). */
export type GatewayPackLister = (authorization: string | undefined, gatewayId: string, filter: { name?: string; layer?: string }) => Promise<{ items: object[]; nextCursor: null }>;

export function gatewayPackLister(deps: { readonly apiKeys: ApiKeyCheck; readonly gateways: GatewayStore; readonly packSync: PackSyncStore }): GatewayPackLister {
  return async (authorization, gatewayId, filter) => {
    const key = /^Bearer\s+(\S+)$/i.exec(authorization ?? '')?.[1];
    const caller = key === undefined ? undefined : await deps.apiKeys.authenticate(key);
    if (!caller) throw new PcgError('PCG_ERR_UNAUTHENTICATED', key === undefined ? 'a gateway\'s packs need an API key (Authorization: Bearer)' : 'the API key is unknown or revoked');
    const gateway = await deps.gateways.get(caller.tenantId, gatewayId);
    const source = `gateway:${gateway.id}`;
    const items = (await deps.packSync.list(gateway.id, filter)).map((p) => ({
      name: p.name, version: p.version, layer: p.layer, cloudTypes: p.cloudTypes, digest: p.digest, source,
    }));
    return { items, nextCursor: null };
  };
}
