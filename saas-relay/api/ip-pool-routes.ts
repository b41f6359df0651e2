import { Type } from '@sinclair/typebox';
import { resolveIpPool } from '../clusters/ip-pool-definition.js';
import { formatIpv4 } from '../clusters/ipv4.js';
import type { GatewayStore } from '../store/gateway-store.js';
import type { IpPoolStore, IpPoolWithUsage } from '../store/ip-pool-store.js';
import * as S from './api-schemas.js';
import * as C from './cluster-schemas.js';
import { requireTenantAdmin } from './authenticate.js';
import { ERROR_RESPONSES as errors, type RouteApp as App } from './route-app.js';

export interface IpPoolRouteDeps {
  readonly pools: IpPoolStore;
  readonly gateways: GatewayStore;
}

const tags = ['ip pools'];

/**
 * Static IP pools on a cloud account. Cloud accounts are shared with every project of the tenant,
 * so every member reads pools (with their usage); tenant admins create and delete them.
 */
export function ipPoolRoutes(app: App, deps: IpPoolRouteDeps): void {
  const out = (p: IpPoolWithUsage) => ({
    id: p.id, cloudAccountId: p.cloud_account_id, name: p.name, range: { start: formatIpv4(p.first_ip), end: formatIpv4(p.last_ip) },
    prefix: p.prefix, gateway: p.gateway, dns: JSON.parse(p.dns) as string[], searchDomains: JSON.parse(p.search_domains) as string[],
    size: p.size, allocated: p.allocated, free: p.free, createdAt: S.iso(p.created_at),
  });

  app.get('/v1/cloudaccounts/:id/ippools', { schema: { tags, params: S.IdParam, response: { 200: Type.Array(C.IpPool), ...errors } } }, async (req) => {
    const account = await deps.gateways.getCloudAccount(req.principal.tenantId, req.params.id);
    return (await deps.pools.list(req.principal.tenantId, account.id)).map(out);
  });

  app.post('/v1/cloudaccounts/:id/ippools', { schema: { tags, params: S.IdParam, body: C.IpPoolBody, response: { 201: C.IpPool, ...errors } } }, async (req, reply) => {
    // Not found before forbidden: another tenant's objects are 404 whatever the caller's role.
    const account = await deps.gateways.getCloudAccount(req.principal.tenantId, req.params.id);
    requireTenantAdmin(req.principal);
    const definition = resolveIpPool(req.body);
    return reply.code(201).send(out(await deps.pools.create(req.principal.tenantId, account.id, req.body.name, definition)));
  });

  app.get('/v1/ippools/:id', { schema: { tags, params: S.IdParam, response: { 200: C.IpPool, ...errors } } }, async (req) =>
    out(await deps.pools.get(req.principal.tenantId, req.params.id)));

  app.delete('/v1/ippools/:id', { schema: { tags, params: S.IdParam, response: { 204: Type.Null(), ...errors } } }, async (req, reply) => {
    await deps.pools.get(req.principal.tenantId, req.params.id);
    requireTenantAdmin(req.principal);
    await deps.pools.delete(req.principal.tenantId, req.params.id);
    return reply.code(204).send(null);
  });
}
