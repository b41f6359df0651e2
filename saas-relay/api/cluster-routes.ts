import { Type } from '@sinclair/typebox';
import { PcgError } from '../../proto/errors.js';
import type { Placement } from '../../proto/schemas/jobs.js';
import type { ClusterService } from '../clusters/cluster-service.js';
import type { ClusterStore, JobSummary } from '../store/cluster-store.js';
import type { IpPoolStore } from '../store/ip-pool-store.js';
import type { ClusterNodeTable, ClusterTable } from '../store/schema.js';
import type { Principal, TenancyStore } from '../store/tenancy-store.js';
import * as S from './api-schemas.js';
import * as C from './cluster-schemas.js';
import { requireProject, requireProjectAccess, type Access } from './project-access.js';
import { ERROR_RESPONSES as errors, type RouteApp as App } from './route-app.js';

export interface ClusterRouteDeps {
  readonly service: ClusterService;
  readonly clusters: ClusterStore;
  readonly pools: IpPoolStore;
  readonly tenancy: TenancyStore;
}

const tags = ['clusters'];

/**
 * Clusters of a project: create, list, get, scale the workers, delete. Every change is a job for
 * the cloud account's gateway (clusters/cluster-service.ts); these routes check who may ask.
 * Another tenant's cluster, or one in a project the caller cannot see, is 404 for every verb.
 */
export function clusterRoutes(app: App, deps: ClusterRouteDeps): void {
  const view = async (cluster: ClusterTable, job: JobSummary | undefined) => {
    const [nodes, addresses] = await Promise.all([deps.clusters.nodes(cluster.id), deps.pools.addressesOf(cluster.id)]);
    return {
      id: cluster.id, projectId: cluster.project_id, name: cluster.name, state: cluster.state, profileId: cluster.profile_id,
      cloudAccountId: cluster.cloud_account_id, gatewayId: cluster.gateway_id, placement: JSON.parse(cluster.placement) as Placement,
      nodePools: JSON.parse(cluster.node_pools) as C.NodePools, addressing: JSON.parse(cluster.addressing) as C.Addressing,
      nodes: nodes.map((n: ClusterNodeTable) => ({ name: n.name, role: n.role, state: n.state, ip: n.ip ?? addresses.get(n.name) ?? null, vm: n.vm, ready: n.ready === 1 })),
      latestJob: job ? { id: job.id, kind: job.kind, state: job.state } : null,
      createdAt: S.iso(cluster.created_at), updatedAt: S.iso(cluster.updated_at),
    };
  };
  const viewOf = async (tenantId: string, id: string) => {
    const cluster = await deps.clusters.get(tenantId, id);
    return view(cluster, (await deps.clusters.latestJobs([cluster.id])).get(cluster.id));
  };
  /** The cluster, if the caller may `access` its project; not visible → 404 before any 403. */
  const load = async (principal: Principal, id: string, access: Access): Promise<ClusterTable> => {
    const cluster = await deps.clusters.get(principal.tenantId, id);
    requireProjectAccess(principal, cluster.project_id, access, `cluster ${id}`);
    return cluster;
  };

  app.get('/v1/projects/:id/clusters', { schema: { tags, params: S.IdParam, response: { 200: Type.Array(C.Cluster), ...errors } } }, async (req) => {
    await requireProject(deps.tenancy, req.principal, req.params.id, 'read');
    const clusters = await deps.clusters.list(req.principal.tenantId, req.params.id);
    const jobs = await deps.clusters.latestJobs(clusters.map((c) => c.id));
    return Promise.all(clusters.map((c) => view(c, jobs.get(c.id))));
  });

  app.post('/v1/projects/:id/clusters', {
    schema: { tags, params: S.IdParam, body: C.CreateClusterBody, response: { 201: C.Cluster, ...errors, 422: S.ErrorBody } },
  }, async (req, reply) => {
    await requireProject(deps.tenancy, req.principal, req.params.id, 'write');
    const id = await deps.service.create(req.principal.tenantId, req.params.id, req.body);
    req.log.info({ clusterId: id }, 'cluster create queued');
    return reply.code(201).send(await viewOf(req.principal.tenantId, id));
  });

  app.get('/v1/clusters/:id', { schema: { tags, params: S.IdParam, response: { 200: C.Cluster, ...errors } } }, async (req) => {
    const cluster = await load(req.principal, req.params.id, 'read');
    return view(cluster, (await deps.clusters.latestJobs([cluster.id])).get(cluster.id));
  });

  app.patch('/v1/clusters/:id', { schema: { tags, params: S.IdParam, body: C.ScaleClusterBody, response: { 200: C.Cluster, 202: C.Cluster, ...errors } } }, async (req, reply) => {
    const cluster = await load(req.principal, req.params.id, 'write');
    const pools = JSON.parse(cluster.node_pools) as C.NodePools;
    if (req.body.controlPlane !== undefined && req.body.controlPlane.count !== pools.controlPlane.count) {
      throw new PcgError('PCG_ERR_BAD_REQUEST', `the control plane has ${pools.controlPlane.count} node(s) and cannot change; only workers.count can`);
    }
    if (req.body.workers === undefined) throw new PcgError('PCG_ERR_BAD_REQUEST', 'nothing to change: give workers.count');
    const queued = await deps.service.scale(req.principal.tenantId, cluster.id, req.body.workers.count);
    return reply.code(queued ? 202 : 200).send(await viewOf(req.principal.tenantId, cluster.id));
  });

  app.delete('/v1/clusters/:id', { schema: { tags, params: S.IdParam, response: { 202: C.Cluster, ...errors } } }, async (req, reply) => {
    const cluster = await load(req.principal, req.params.id, 'write');
    await deps.service.delete(req.principal.tenantId, cluster.id);
    return reply.code(202).send(await viewOf(req.principal.tenantId, cluster.id));
  });
}
