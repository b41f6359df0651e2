/** Job frames (see jobs.ts for the job itself). */
import { Type, type Static } from '@sinclair/typebox';
import { Id, RequestId } from './common.js';
import { DnsLabel, JobEventSchema, JobResultSchema, JobSchema, JobStateSchema } from './jobs.js';

/**
 * Jobs (see jobs.ts). The relay offers every unfinished job of a gateway when its session opens
 * and whenever one is queued; the gateway's journal makes a repeated offer harmless:
 *
 *   relay                                   gateway
 *   job.offer {id, job} ------------------>  journal: new → run; known → say how far it is
 *   <------------------ job.ack {id, job_id, state}
 *   <------------------ job.report {id, job_id, events[], result?}   (until the final result)
 *   job.report.ack {id, job_id, seq, state} ->  events up to seq (and the result) are stored
 *   job.cancel {id, job_id} --------------->  abort the job's work
 *   <------------------ job.cancel.ack {id, job_id, state}
 */
export const JobOfferFrame = Type.Object({
  type: Type.Literal('job.offer'),
  id: RequestId,
  job: JobSchema,
}, { additionalProperties: false });

/** `accepted`: new, queued to run; `running`: already running; `finished`: done, its result is reported. */
export const JobAckFrame = Type.Object({
  type: Type.Literal('job.ack'),
  id: RequestId,
  job_id: Id,
  state: Type.Union([Type.Literal('accepted'), Type.Literal('running'), Type.Literal('finished')]),
}, { additionalProperties: false });

export const JobCancelFrame = Type.Object({
  type: Type.Literal('job.cancel'),
  id: RequestId,
  job_id: Id,
}, { additionalProperties: false });

/** `cancelling`: stopping, its result follows; `finished`: it had already ended; `unknown`: never seen (the relay may cancel it outright). */
export const JobCancelAckFrame = Type.Object({
  type: Type.Literal('job.cancel.ack'),
  id: RequestId,
  job_id: Id,
  state: Type.Union([Type.Literal('cancelling'), Type.Literal('finished'), Type.Literal('unknown')]),
}, { additionalProperties: false });

/** Events in `seq` order, oldest not yet acknowledged first; `result` only in the last report of a job. */
export const JobReportFrame = Type.Object({
  type: Type.Literal('job.report'),
  id: RequestId,
  job_id: Id,
  events: Type.Array(JobEventSchema, { maxItems: 200 }),
  result: Type.Optional(JobResultSchema),
}, { additionalProperties: false });

/** Everything up to `seq` is stored (and the result, when `state` is terminal): the gateway may forget it. */
export const JobReportAckFrame = Type.Object({
  type: Type.Literal('job.report.ack'),
  id: RequestId,
  job_id: Id,
  seq: Type.Integer({ minimum: 0 }),
  state: JobStateSchema,
}, { additionalProperties: false });

/** A node's VM is gone from vCenter (removed by hand): the relay decides whether to repair. */
export const ClusterDriftFrame = Type.Object({
  type: Type.Literal('cluster.drift'),
  id: RequestId,
  cluster_id: Id,
  missing: Type.Array(DnsLabel, { minItems: 1, maxItems: 1000 }),
}, { additionalProperties: false });

export const ClusterDriftAckFrame = Type.Object({
  type: Type.Literal('cluster.drift.ack'),
  id: RequestId,
  cluster_id: Id,
  /** The repair job queued, or null when none was (the cluster is busy, deleted, or already repairing). */
  repair_job_id: Type.Union([Id, Type.Null()]),
}, { additionalProperties: false });

export type JobOfferFrame = Static<typeof JobOfferFrame>;
export type JobAckFrame = Static<typeof JobAckFrame>;
export type JobCancelFrame = Static<typeof JobCancelFrame>;
export type JobCancelAckFrame = Static<typeof JobCancelAckFrame>;
export type JobReportFrame = Static<typeof JobReportFrame>;
export type JobReportAckFrame = Static<typeof JobReportAckFrame>;
export type ClusterDriftFrame = Static<typeof ClusterDriftFrame>;
export type ClusterDriftAckFrame = Static<typeof ClusterDriftAckFrame>;
