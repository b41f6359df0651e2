/**
 * Sealed frames: the JSON plaintext inside every binary frame after the handshake.
 * `welcome` and `paired` are the first relay→gateway frame of a session and of a pairing.
 */
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { Id, Millis, Pem } from './common.js';
import { InventoryItemSchema, InventoryKindSchema } from './inventory.js';
import { DnsLabel, JobEventSchema, JobResultSchema, JobSchema, JobStateSchema } from './jobs.js';

/**
 * Request frames carry an `id` chosen by the sender; every reply (and an `error` answering the
 * request) carries the same id back. Ids are per session and per direction.
 */
export const RequestId = Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER });

export const WelcomeFrame = Type.Object({
  type: Type.Literal('welcome'),
  epoch: Type.Integer({ minimum: 1, description: 'session epoch: fencing token, higher supersedes lower' }),
  heartbeat_s: Type.Number({ minimum: 0.05, maximum: 3600 }),
  server_time: Millis,
}, { additionalProperties: false });

export const PairedFrame = Type.Object({
  type: Type.Literal('paired'),
  gateway_id: Id,
  tenant_id: Id,
  cloud_account_id: Id,
  cert: Pem,
  ca: Pem,
  cert_expires_at: Millis,
}, { additionalProperties: false });

export const GatewayStatus = Type.Object({
  version: Type.String({ maxLength: 64 }),
  uptime_s: Type.Number({ minimum: 0 }),
  cert_expires_at: Type.Optional(Millis),
}, { additionalProperties: false });

export const HeartbeatFrame = Type.Object({
  type: Type.Literal('heartbeat'),
  seq: Type.Integer({ minimum: 0 }),
  time: Millis,
  status: GatewayStatus,
}, { additionalProperties: false });

export const HeartbeatAckFrame = Type.Object({
  type: Type.Literal('heartbeat.ack'),
  seq: Type.Integer({ minimum: 0 }),
  server_time: Millis,
}, { additionalProperties: false });

export const ErrorFrame = Type.Object({
  type: Type.Literal('error'),
  code: Type.String({ pattern: '^PCG_ERR_[A-Z_]+$' }),
  message: Type.String({ maxLength: 2048 }),
  /** Type of the frame this error answers, when known. */
  ref: Type.Optional(Type.String({ maxLength: 64 })),
  /** Request id of the frame this error answers, when it carried one: the error settles that request. */
  id: Type.Optional(RequestId),
}, { additionalProperties: false });

export const CertRenewFrame = Type.Object({
  type: Type.Literal('cert.renew'),
  id: Type.Optional(RequestId),
  csr: Pem,
}, { additionalProperties: false });

export const CertRenewedFrame = Type.Object({
  type: Type.Literal('cert.renewed'),
  id: Type.Optional(RequestId),
  cert: Pem,
  cert_expires_at: Millis,
}, { additionalProperties: false });

/** Round-trip probe: the relay sends `echo`, the gateway answers `echo.reply` with the same id and data. */
export const EchoFrame = Type.Object({
  type: Type.Literal('echo'),
  id: RequestId,
  data: Type.String({ maxLength: 65536 }),
}, { additionalProperties: false });

export const EchoReplyFrame = Type.Object({
  type: Type.Literal('echo.reply'),
  id: RequestId,
  data: Type.String({ maxLength: 65536 }),
}, { additionalProperties: false });

export const VcenterInfoFrame = Type.Object({
  type: Type.Literal('vcenter.info'),
  host: Type.String({ maxLength: 512 }),
  thumbprint: Type.Union([Type.String({ pattern: '^([0-9A-F]{2}:){31}[0-9A-F]{2}$' }), Type.Null()]),
  version: Type.String({ maxLength: 64 }),
  datacenters: Type.Array(Type.String({ maxLength: 256 }), { maxItems: 1000 }),
}, { additionalProperties: false });

export const InventoryRequestFrame = Type.Object({
  type: Type.Literal('inventory.request'),
  id: RequestId,
  kind: InventoryKindSchema,
  datacenter: Type.Optional(Type.String({ maxLength: 256 })),
}, { additionalProperties: false });

export const InventoryResponseFrame = Type.Object({
  type: Type.Literal('inventory.response'),
  id: RequestId,
  items: Type.Optional(Type.Array(InventoryItemSchema, { maxItems: 100_000 })),
  error: Type.Optional(Type.Object({ code: Type.String({ pattern: '^PCG_ERR_[A-Z_]+$' }), message: Type.String({ maxLength: 2048 }) }, { additionalProperties: false })),
}, { additionalProperties: false });

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

/**
 * The gateway's private pack index, mirrored on the relay. Every session starts with a full report;
 * afterwards the gateway sends what changed (by digest) as a delta on top of the generation the
 * relay last acknowledged. A delta whose `base_generation` is not the one the relay stores is not
 * applied: the ack says `resync`, and the gateway sends a full report next.
 *
 *   relay                                                gateway
 *   <------- registry.index {id, mode: full, generation, packs[]}          (on session open)
 *   registry.index.ack {id, generation, resync: false} ->
 *   <------- registry.index {id, mode: delta, base_generation, generation, upserts[], removals[]}
 *   registry.index.ack {id, generation, resync} ------->  resync: base unknown, send a full report
 *   registry.resync {id} ------------------------------>  ("sync now") full report, then:
 *   <------- registry.resync.ack {id, generation}
 */
export const PackIndexItemSchema = Type.Object({
  name: Type.String({ minLength: 1, maxLength: 128 }),
  version: Type.String({ minLength: 1, maxLength: 128 }),
  /** The archive's digest (what a download returns). */
  digest: Type.String({ pattern: '^sha256:[0-9a-f]{64}$' }),
  layer: Type.String({ minLength: 1, maxLength: 32 }),
  cloud_types: Type.Array(Type.String({ minLength: 1, maxLength: 64 }), { maxItems: 64 }),
}, { additionalProperties: false });

export const PackIndexRemovalSchema = Type.Object({
  name: Type.String({ minLength: 1, maxLength: 128 }),
  version: Type.String({ minLength: 1, maxLength: 128 }),
}, { additionalProperties: false });

/** Generations count the gateway's reports; a full report may start again from any number. */
const Generation = Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER });
/**
 * sha256 over the whole index after the report applies (proto/registry/pack-index-digest.ts): the
 * relay checks what it holds against it, and a mismatch is a failed sync, never a success.
 */
const IndexDigest = Type.String({ pattern: '^sha256:[0-9a-f]{64}$' });

export const RegistryIndexFrame = Type.Union([
  Type.Object({
    type: Type.Literal('registry.index'),
    id: RequestId,
    mode: Type.Literal('full'),
    generation: Generation,
    packs: Type.Array(PackIndexItemSchema, { maxItems: 4000 }),
    index_digest: IndexDigest,
  }, { additionalProperties: false }),
  Type.Object({
    type: Type.Literal('registry.index'),
    id: RequestId,
    mode: Type.Literal('delta'),
    base_generation: Generation,
    generation: Generation,
    upserts: Type.Array(PackIndexItemSchema, { maxItems: 4000 }),
    removals: Type.Array(PackIndexRemovalSchema, { maxItems: 4000 }),
    index_digest: IndexDigest,
  }, { additionalProperties: false }),
]);

/** `generation`: what the relay now stores; `resync`: the delta did not apply, send a full report. */
export const RegistryIndexAckFrame = Type.Object({
  type: Type.Literal('registry.index.ack'),
  id: RequestId,
  generation: Generation,
  resync: Type.Boolean(),
}, { additionalProperties: false });

/** "Sync now": the gateway sends a full report and answers once the relay acknowledged it. */
export const RegistryResyncFrame = Type.Object({
  type: Type.Literal('registry.resync'),
  id: RequestId,
}, { additionalProperties: false });

export const RegistryResyncAckFrame = Type.Object({
  type: Type.Literal('registry.resync.ack'),
  id: RequestId,
  generation: Generation,
}, { additionalProperties: false });

export type PackIndexItem = Static<typeof PackIndexItemSchema>;
export type PackIndexRemoval = Static<typeof PackIndexRemovalSchema>;
export type RegistryIndexFrame = Static<typeof RegistryIndexFrame>;
export type RegistryIndexAckFrame = Static<typeof RegistryIndexAckFrame>;
export type RegistryResyncFrame = Static<typeof RegistryResyncFrame>;
export type RegistryResyncAckFrame = Static<typeof RegistryResyncAckFrame>;

export type JobOfferFrame = Static<typeof JobOfferFrame>;
export type JobAckFrame = Static<typeof JobAckFrame>;
export type JobCancelFrame = Static<typeof JobCancelFrame>;
export type JobCancelAckFrame = Static<typeof JobCancelAckFrame>;
export type JobReportFrame = Static<typeof JobReportFrame>;
export type JobReportAckFrame = Static<typeof JobReportAckFrame>;
export type ClusterDriftFrame = Static<typeof ClusterDriftFrame>;
export type ClusterDriftAckFrame = Static<typeof ClusterDriftAckFrame>;

export type VcenterInfoFrame = Static<typeof VcenterInfoFrame>;
export type InventoryRequestFrame = Static<typeof InventoryRequestFrame>;
export type InventoryResponseFrame = Static<typeof InventoryResponseFrame>;
export type WelcomeFrame = Static<typeof WelcomeFrame>;
export type PairedFrame = Static<typeof PairedFrame>;
export type HeartbeatFrame = Static<typeof HeartbeatFrame>;
export type GatewayStatus = Static<typeof GatewayStatus>;
export type HeartbeatAckFrame = Static<typeof HeartbeatAckFrame>;
export type ErrorFrame = Static<typeof ErrorFrame>;
export type CertRenewFrame = Static<typeof CertRenewFrame>;
export type CertRenewedFrame = Static<typeof CertRenewedFrame>;
export type EchoFrame = Static<typeof EchoFrame>;
export type EchoReplyFrame = Static<typeof EchoReplyFrame>;

/** Every frame type by its `type` literal; the codec compiles one validator per entry. */
export const FRAME_SCHEMAS = {
  'welcome': WelcomeFrame,
  'paired': PairedFrame,
  'heartbeat': HeartbeatFrame,
  'heartbeat.ack': HeartbeatAckFrame,
  'error': ErrorFrame,
  'cert.renew': CertRenewFrame,
  'cert.renewed': CertRenewedFrame,
  'echo': EchoFrame,
  'echo.reply': EchoReplyFrame,
  'vcenter.info': VcenterInfoFrame,
  'inventory.request': InventoryRequestFrame,
  'inventory.response': InventoryResponseFrame,
  'job.offer': JobOfferFrame,
  'job.ack': JobAckFrame,
  'job.cancel': JobCancelFrame,
  'job.cancel.ack': JobCancelAckFrame,
  'job.report': JobReportFrame,
  'job.report.ack': JobReportAckFrame,
  'cluster.drift': ClusterDriftFrame,
  'cluster.drift.ack': ClusterDriftAckFrame,
  'registry.index': RegistryIndexFrame,
  'registry.index.ack': RegistryIndexAckFrame,
  'registry.resync': RegistryResyncFrame,
  'registry.resync.ack': RegistryResyncAckFrame,
} as const satisfies Record<string, TSchema>;

export type FrameType = keyof typeof FRAME_SCHEMAS;
export type Frame = { [K in FrameType]: Static<(typeof FRAME_SCHEMAS)[K]> }[FrameType];
export type FrameOf<K extends FrameType> = Extract<Frame, { type: K }>;

/**
 * Request frames: an `error` answering one of these carries its `id`, which settles the sender's
 * request. Replies carry ids too, but those are the peer's own; an error never echoes them.
 */
export const REQUEST_FRAME_TYPES: readonly FrameType[] = ['echo', 'inventory.request', 'cert.renew', 'job.offer', 'job.cancel', 'job.report', 'cluster.drift', 'registry.index', 'registry.resync'];

/** Replies: their `id` names a request of the receiver's own, which a rejected reply settles with the error. */
export const REPLY_FRAME_TYPES: readonly FrameType[] = ['echo.reply', 'inventory.response', 'cert.renewed', 'job.ack', 'job.cancel.ack', 'job.report.ack', 'cluster.drift.ack', 'registry.index.ack', 'registry.resync.ack'];

/** Frames a gateway may send after welcome; the relay answers others with an error frame. */
export const GATEWAY_FRAME_TYPES: readonly FrameType[] = ['heartbeat', 'error', 'cert.renew', 'echo.reply', 'vcenter.info', 'inventory.response', 'job.ack', 'job.cancel.ack', 'job.report', 'cluster.drift', 'registry.index', 'registry.resync.ack'];
/** Frames a relay may send after welcome. */
export const RELAY_FRAME_TYPES: readonly FrameType[] = ['heartbeat.ack', 'error', 'cert.renewed', 'echo', 'inventory.request', 'job.offer', 'job.cancel', 'job.report.ack', 'cluster.drift.ack', 'registry.index.ack', 'registry.resync'];
