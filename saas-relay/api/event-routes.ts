import { Type } from '@sinclair/typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { PcgError } from '../../proto/errors.js';
import { eventView, type ClusterEventFeed } from '../jobs/cluster-event-feed.js';
import type { ClusterEventStore } from '../store/cluster-event-store.js';
import * as S from './api-schemas.js';
import { visibleCluster } from './job-routes.js';
import { ERROR_RESPONSES as errors, type RouteApp as App } from './route-app.js';

export interface EventRouteDeps {
  readonly events: ClusterEventStore;
  readonly feed: ClusterEventFeed;
}

export const ClusterEventView = Type.Object({
  id: Type.Integer(),
  at: Type.String({ format: 'date-time' }),
  step: Type.String(),
  node: Type.Union([Type.String(), Type.Null()]),
  level: Type.Union([Type.Literal('info'), Type.Literal('warn'), Type.Literal('error')]),
  message: Type.String(),
  jobId: Type.Union([Type.String(), Type.Null()]),
  seq: Type.Union([Type.Integer(), Type.Null()]),
}, { $id: 'ClusterEvent' });

const EventsQuery = Type.Object({
  after: Type.Optional(Type.String({ pattern: '^[0-9]{1,15}$', description: 'only events with a larger id' })),
  limit: Type.Optional(Type.String({ pattern: '^[0-9]{1,4}$', description: 'at most this many (1..1000, default 500)' })),
}, { additionalProperties: false });

/** A cluster's events: a JSON page, and a live server-sent event stream resumable with Last-Event-ID. */
export function eventRoutes(app: App, deps: EventRouteDeps): void {
  app.get('/v1/clusters/:id/events', { schema: { tags: ['events'], params: S.IdParam, querystring: EventsQuery, response: { 200: Type.Array(ClusterEventView), ...errors } } }, async (req) => {
    const cluster = await visibleCluster(deps.events, req.principal, req.params.id);
    const limit = Math.min(1000, Math.max(1, Number(req.query.limit ?? 500)));
    return (await deps.events.after(req.principal.tenantId, cluster.id, Number(req.query.after ?? 0), limit)).map(eventView);
  });

  app.get('/v1/clusters/:id/events/stream', {
    schema: {
      tags: ['events'], params: S.IdParam, querystring: EventsQuery,
      description: 'text/event-stream: each event has `id: <event id>`, `event: cluster-event`, `data: <ClusterEvent JSON>`; resumes after the Last-Event-ID header (or ?after). Ends after the last event of a deleted cluster.',
      response: { ...errors },
    },
  }, async (req: FastifyRequest<{ Params: { id: string }; Querystring: { after?: string } }>, reply: FastifyReply) => {
    const cluster = await visibleCluster(deps.events, req.principal, req.params.id);
    const header = req.headers['last-event-id'];
    const lastEventId = Array.isArray(header) ? header[0] : header;
    if (lastEventId !== undefined && !/^[0-9]{1,15}$/.test(lastEventId)) throw new PcgError('PCG_ERR_BAD_REQUEST', 'Last-Event-ID must be an event id from this stream');
    const after = Number(lastEventId ?? req.query.after ?? 0);
    const tenantId = req.principal.tenantId;
    reply.hijack();
    await deps.feed.stream(reply.raw, { tenantId, clusterId: cluster.id }, after,
      async () => (await deps.events.cluster(tenantId, cluster.id))?.deleted_at != null);
  });
}
