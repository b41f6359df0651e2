import { Type } from '@sinclair/typebox';
import type { Clock } from '../../proto/clock.js';
import { PcgError } from '../../proto/errors.js';
import type { PairingCodes } from '../pairing/pairing-codes.js';
import { gatewayStatus, type GatewayStore } from '../store/gateway-store.js';
import type { GatewayTable } from '../store/schema.js';
import type { TunnelHub } from '../tunnel/tunnel-hub.js';
import type { GatewayCalls } from '../tunnel/gateway-calls.js';
import { inventoryOperation } from '../tunnel/handlers/inventory-handlers.js';
import * as S from './api-schemas.js';
import { ERROR_RESPONSES as errors, type RouteApp as App } from './route-app.js';
import { requireTenantAdmin } from './authenticate.js';

export interface GatewayRouteDeps {
  readonly gateways: GatewayStore;
  readonly codes: PairingCodes;
  readonly hub: TunnelHub;
  /** Work for a gateway, routed to whichever relay holds its tunnel. */
  readonly calls: GatewayCalls;
  readonly clock: Clock;
  readonly caPin: string;
  /** A gateway not heard from for this long is offline. */
  readonly offlineAfterMs: number;
  /** How long the relay waits for a gateway's inventory answer. */
  readonly inventoryTimeoutMs: number;
}

/** Gateways (create, pairing codes, status, revoke) and the gateway cloud accounts. */
export function gatewayRoutes(app: App, deps: GatewayRouteDeps): void {
  const out = (g: GatewayTable) => ({
    id: g.id, name: g.name, status: gatewayStatus(g, deps.clock.now(), deps.offlineAfterMs), createdAt: S.iso(g.created_at),
    pairedAt: S.iso(g.paired_at), revokedAt: S.iso(g.revoked_at), lastHeartbeatAt: S.iso(g.last_seen_at), version: g.version,
    clockSkewMs: g.clock_skew_ms, certExpiresAt: S.iso(g.cert_expires_at), sessionEpoch: g.epoch,
  });

  const issueCode = async (gateway: GatewayTable) => {
    const issued = await deps.codes.issue(gateway.tenant_id, gateway.id);
    return { id: gateway.id, pairingCode: issued.code.reveal(), caPin: deps.caPin, expiresAt: new Date(issued.expiresAt).toISOString() };
  };

  app.post('/v1/gateways', { schema: { tags: ['gateways'], body: S.CreateGateway, response: { 201: S.PairingCodeIssued, ...errors } } }, async (req, reply) => {
    requireTenantAdmin(req.principal);
    const gateway = await deps.gateways.create(req.principal.tenantId, req.body.name);
    return reply.code(201).header('cache-control', 'no-store').send(await issueCode(gateway));
  });

  app.get('/v1/gateways', { schema: { tags: ['gateways'], response: { 200: Type.Array(S.Gateway), ...errors } } }, async (req) =>
    (await deps.gateways.list(req.principal.tenantId)).map(out));

  app.get('/v1/gateways/:id', { schema: { tags: ['gateways'], params: S.IdParam, response: { 200: S.Gateway, ...errors } } }, async (req) => {
    const gateway = await deps.gateways.get(req.principal.tenantId, req.params.id);
    const code = await deps.codes.status(gateway.tenant_id, gateway.id);
    return { ...out(gateway), pairingCode: code ? { state: code.state, expiresAt: new Date(code.expiresAt).toISOString(), failedAttempts: code.failedAttempts } : null };
  });

  app.post('/v1/gateways/:id/pairing-code', { schema: { tags: ['gateways'], params: S.IdParam, response: { 201: S.PairingCodeIssued, ...errors } } }, async (req, reply) => {
    requireTenantAdmin(req.principal);
    const gateway = await deps.gateways.get(req.principal.tenantId, req.params.id);
    if (gateway.revoked_at !== null) throw new PcgError('PCG_ERR_CONFLICT', `gateway ${gateway.id} is revoked; create a new gateway`);
    return reply.code(201).header('cache-control', 'no-store').send(await issueCode(gateway));
  });

  app.delete('/v1/gateways/:id', { schema: { tags: ['gateways'], params: S.IdParam, response: { 200: S.Gateway, ...errors } } }, async (req) => {
    requireTenantAdmin(req.principal);
    const revoked = await deps.gateways.revoke(req.principal.tenantId, req.params.id);
    // Local session closes now; sessions on other relays close at their next event poll.
    deps.hub.closeGateway(revoked.id, 'PCG_ERR_GATEWAY_REVOKED');
    req.log.info({ gatewayId: revoked.id }, 'gateway revoked');
    return out(revoked);
  });

  const accountOut = (a: Awaited<ReturnType<GatewayStore['listCloudAccounts']>>[number]) => ({
    id: a.id, name: a.name, kind: a.kind, gatewayId: a.gateway_id, scope: 'tenant' as const,
    metadata: JSON.parse(a.metadata) as Record<string, unknown>, createdAt: S.iso(a.created_at),
  });

  app.get('/v1/cloudaccounts', { schema: { tags: ['cloud accounts'], response: { 200: Type.Array(S.CloudAccount), ...errors } } }, async (req) =>
    (await deps.gateways.listCloudAccounts(req.principal.tenantId)).map(accountOut));

  app.get('/v1/cloudaccounts/:id/inventory', {
    schema: {
      tags: ['cloud accounts'], params: S.IdParam, querystring: S.InventoryQuery,
      response: { 200: S.InventoryResult, ...errors, 503: S.ErrorBody, 504: S.ErrorBody },
    },
  }, async (req) => {
    const account = await deps.gateways.getCloudAccount(req.principal.tenantId, req.params.id);
    // Whichever relay holds the gateway's tunnel answers; this one may or may not be it.
    const items = await deps.calls.call(account.gateway_id, inventoryOperation, { kind: req.query.kind, datacenter: req.query.datacenter }, { timeoutMs: deps.inventoryTimeoutMs });
    return { cloudAccountId: account.id, kind: req.query.kind, items };
  });

  app.get('/v1/cloudaccounts/:id', { schema: { tags: ['cloud accounts'], params: S.IdParam, response: { 200: S.CloudAccount, ...errors } } }, async (req) =>
    accountOut(await deps.gateways.getCloudAccount(req.principal.tenantId, req.params.id)));
}
