import { Type } from '@sinclair/typebox';
import { PcgError } from '../../proto/errors.js';
import { JobKindSchema, JobStateSchema } from '../../proto/schemas/jobs.js';
import type { ClusterEventStore, ClusterScope } from '../store/cluster-event-store.js';
import type { JobStore } from '../store/job-store.js';
import type { RelaySignals } from '../store/relay-signals.js';
import type { Principal } from '../store/tenancy-store.js';
import type { JobTable } from '../store/schema.js';
import * as S from './api-schemas.js';
import { canSeeProject } from './authenticate.js';
import { ERROR_RESPONSES as errors, type RouteApp as App } from './route-app.js';

export interface JobRouteDeps {
  readonly jobs: JobStore;
  /** Cluster lookups (tenant, project) for visibility. */
  readonly events: ClusterEventStore;
  readonly signals: RelaySignals;
}

const Time = Type.Union([Type.String({ format: 'date-time' }), Type.Null()]);
export const JobView = Type.Object({
  id: Type.String(),
  clusterId: Type.String(),
  kind: JobKindSchema,
  action: Type.Union([Type.Literal('apply'), Type.Literal('delete')]),
  state: JobStateSchema,
  attempts: Type.Integer(),
  error: Type.Union([Type.Object({ code: Type.String(), message: Type.String() }), Type.Null()]),
  cancelRequestedAt: Time,
  createdAt: Time,
  updatedAt: Time,
  finishedAt: Time,
}, { $id: 'Job' });

export function jobView(j: JobTable) {
  return {
    id: j.id, clusterId: j.cluster_id, kind: j.kind, action: j.action, state: j.state, attempts: j.attempts,
    error: j.error_code ? { code: j.error_code, message: j.error_message ?? '' } : null,
    cancelRequestedAt: S.iso(j.cancel_requested_at), createdAt: S.iso(j.created_at), updatedAt: S.iso(j.updated_at), finishedAt: S.iso(j.finished_at),
  };
}

/** A cluster the caller may see, else 404 (other tenants and unbound projects look alike). */
export async function visibleCluster(events: ClusterEventStore, principal: Principal, clusterId: string): Promise<ClusterScope> {
  const cluster = await events.cluster(principal.tenantId, clusterId);
  if (!cluster || !canSeeProject(principal, cluster.project_id)) throw new PcgError('PCG_ERR_NOT_FOUND', `cluster ${clusterId} not found`);
  return cluster;
}

function canOperate(principal: Principal, projectId: string): boolean {
  return principal.grants.some((g) => g.role === 'tenant-admin' || (g.role === 'project-admin' && g.projectId === projectId));
}

/** Jobs of clusters: list, status, cancel (viewers read only). */
export function jobRoutes(app: App, deps: JobRouteDeps): void {
  const visibleJob = async (principal: Principal, id: string): Promise<{ job: JobTable; cluster: ClusterScope }> => {
    const job = await deps.jobs.get(principal.tenantId, id);
    const cluster = await deps.events.cluster(principal.tenantId, job.cluster_id);
    if (!cluster || !canSeeProject(principal, cluster.project_id)) throw new PcgError('PCG_ERR_NOT_FOUND', `job ${id} not found`);
    return { job, cluster };
  };

  app.get('/v1/clusters/:id/jobs', { schema: { tags: ['jobs'], params: S.IdParam, response: { 200: Type.Array(JobView), ...errors } } }, async (req) => {
    const cluster = await visibleCluster(deps.events, req.principal, req.params.id);
    return (await deps.jobs.listForCluster(req.principal.tenantId, cluster.id)).map(jobView);
  });

  app.get('/v1/jobs/:id', { schema: { tags: ['jobs'], params: S.IdParam, response: { 200: JobView, ...errors } } }, async (req) =>
    jobView((await visibleJob(req.principal, req.params.id)).job));

  app.post('/v1/jobs/:id/cancel', { schema: { tags: ['jobs'], params: S.IdParam, response: { 202: JobView, ...errors } } }, async (req, reply) => {
    const { cluster } = await visibleJob(req.principal, req.params.id);
    if (!canOperate(req.principal, cluster.project_id)) throw new PcgError('PCG_ERR_FORBIDDEN', 'cancelling a job needs the project-admin or tenant-admin role');
    const { outcome, job } = await deps.jobs.requestCancel(req.principal.tenantId, req.params.id);
    if (outcome === 'already-finished') throw new PcgError('PCG_ERR_CONFLICT', `job ${job.id} has already ${job.state}`);
    // Cancelled outright: streams read on. Requested: the relay holding the gateway asks it to stop.
    const signal = outcome === 'cancelled' ? deps.signals.notify('cluster_event', job.cluster_id) : Promise.resolve();
    await Promise.all([signal, deps.signals.notify('job_queued', job.gateway_id)]).catch((err: unknown) => req.log.warn({ err }, 'cannot signal a job cancel; the poll will find it'));
    return reply.code(202).send(jobView(job));
  });
}
