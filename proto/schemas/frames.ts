/**
 * Sealed frames: the JSON plaintext inside every binary frame after the handshake.
 * `welcome` and `paired` are the first relay→gateway frame of a session and of a pairing.
 */
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { Id, Millis, Pem, RequestId } from './common.js';
import { InventoryItemSchema, InventoryKindSchema } from './inventory.js';
import { ClusterDriftAckFrame, ClusterDriftFrame, JobAckFrame, JobCancelAckFrame, JobCancelFrame, JobOfferFrame, JobReportAckFrame, JobReportFrame } from './job-frames.js';
import { RegistryIndexAckFrame, RegistryIndexFrame, RegistryResyncAckFrame, RegistryResyncFrame } from './pack-sync-frames.js';

export { RequestId } from './common.js';
export * from './job-frames.js';
export * from './pack-sync-frames.js';


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
