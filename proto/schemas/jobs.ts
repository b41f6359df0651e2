/**
 * Jobs the relay hands a gateway, and what the gateway reports back. A job carries the whole
 * desired state of one cluster (every node it should have), so create, scale and repair are one
 * idempotent action on the gateway (`apply`: make vSphere match) and delete is the other.
 */
import { Type, type Static } from '@sinclair/typebox';
import { Id, Millis } from './common.js';

/** What the user asked for; `repair` is queued by the relay when a node went missing. */
export const JobKindSchema = Type.Union([Type.Literal('create'), Type.Literal('scale'), Type.Literal('delete'), Type.Literal('repair')]);
export type JobKind = Static<typeof JobKindSchema>;

/** The relay's view of a job. Terminal: succeeded, failed, cancelled. */
export const JobStateSchema = Type.Union([
  Type.Literal('queued'), Type.Literal('dispatched'), Type.Literal('running'),
  Type.Literal('succeeded'), Type.Literal('failed'), Type.Literal('cancelled'),
]);
export type JobState = Static<typeof JobStateSchema>;
export const TERMINAL_JOB_STATES: readonly JobState[] = ['succeeded', 'failed', 'cancelled'];

export const NodeRoleSchema = Type.Union([Type.Literal('control-plane'), Type.Literal('worker')]);
export type NodeRole = Static<typeof NodeRoleSchema>;

/** Dotted-quad IPv4 (a pattern, not a format: the frame codec's compiled validators know no formats). */
export const Ipv4 = Type.String({ pattern: '^((25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])\\.){3}(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])$', maxLength: 15 });
/** RFC 1123 label: cluster and node names become host names and VM names. */
export const DnsLabel = Type.String({ pattern: '^[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?$', maxLength: 40 });

/** A static address from an IP pool; absent for DHCP. */
export const NodeAddressSchema = Type.Object({
  ip: Ipv4,
  prefix: Type.Integer({ minimum: 1, maximum: 32 }),
  gateway: Type.Optional(Ipv4),
  dns: Type.Array(Ipv4, { maxItems: 8 }),
  searchDomains: Type.Array(Type.String({ maxLength: 253 }), { maxItems: 8 }),
}, { additionalProperties: false });
export type NodeAddress = Static<typeof NodeAddressSchema>;

/** One VM of the cluster. `name` is stable for the node's life (`cp-0`, `worker-3`). */
export const NodeSpecSchema = Type.Object({
  name: DnsLabel,
  role: NodeRoleSchema,
  cpus: Type.Integer({ minimum: 1, maximum: 128 }),
  memoryMiB: Type.Integer({ minimum: 512, maximum: 4_194_304 }),
  diskGiB: Type.Integer({ minimum: 1, maximum: 65_536 }),
  address: Type.Optional(NodeAddressSchema),
}, { additionalProperties: false });
export type NodeSpec = Static<typeof NodeSpecSchema>;

/** Where the VMs go, by the names an admin sees in the vSphere Client. */
export const PlacementSchema = Type.Object({
  datacenter: Type.String({ minLength: 1, maxLength: 256 }),
  /** Parent VM folder (name or path under the datacenter's vm folder); the cluster's own folder is made in it. */
  folder: Type.String({ minLength: 1, maxLength: 1024 }),
  /** Compute cluster or resource pool (name or path). */
  computeResource: Type.String({ minLength: 1, maxLength: 1024 }),
  datastore: Type.String({ minLength: 1, maxLength: 256 }),
  network: Type.String({ minLength: 1, maxLength: 256 }),
}, { additionalProperties: false });
export type Placement = Static<typeof PlacementSchema>;

export const PackLayerSchema = Type.Union([Type.Literal('os'), Type.Literal('k8s'), Type.Literal('cni'), Type.Literal('csi'), Type.Literal('addon')]);
export type PackLayer = Static<typeof PackLayerSchema>;

/** A profile layer as the gateway needs it: which pack, and its values (YAML text, already validated). */
export const PackRefSchema = Type.Object({
  layer: PackLayerSchema,
  registry: Type.String({ minLength: 1, maxLength: 256 }),
  name: Type.String({ minLength: 1, maxLength: 128 }),
  version: Type.String({ minLength: 1, maxLength: 64 }),
  values: Type.String({ maxLength: 262_144 }),
}, { additionalProperties: false });
export type PackRef = Static<typeof PackRefSchema>;

/** Everything the gateway needs to build one cluster, resolved by the relay (profile, pool, placement). */
export const ClusterSpecSchema = Type.Object({
  clusterId: Id,
  name: DnsLabel,
  /** The OS layer's VM template to clone (name or path in the datacenter). */
  template: Type.String({ minLength: 1, maxLength: 1024 }),
  placement: PlacementSchema,
  /** The desired nodes; for a delete, the nodes the cluster had. */
  nodes: Type.Array(NodeSpecSchema, { maxItems: 1000 }),
  /** The profile's layers in order: os, k8s, cni, csi, addon*. */
  packs: Type.Array(PackRefSchema, { maxItems: 64 }),
}, { additionalProperties: false });
export type ClusterSpec = Static<typeof ClusterSpecSchema>;

/** `apply`: make vSphere hold exactly `cluster.nodes` (create, scale, repair); `delete`: remove every VM and the folder. */
export const JobActionSchema = Type.Union([Type.Literal('apply'), Type.Literal('delete')]);
export type JobAction = Static<typeof JobActionSchema>;

export const JobSchema = Type.Object({
  id: Id,
  kind: JobKindSchema,
  action: JobActionSchema,
  /** 1 on first delivery; the relay counts redeliveries after a lost lease. */
  attempt: Type.Integer({ minimum: 1 }),
  cluster: ClusterSpecSchema,
}, { additionalProperties: false });
export type Job = Static<typeof JobSchema>;

export const EventLevelSchema = Type.Union([Type.Literal('info'), Type.Literal('warn'), Type.Literal('error')]);

/** One step of a job as the user sees it; `seq` counts from 1 per job, so a resend is recognised. */
export const JobEventSchema = Type.Object({
  seq: Type.Integer({ minimum: 1 }),
  at: Millis,
  step: Type.String({ minLength: 1, maxLength: 64 }),
  node: Type.Optional(DnsLabel),
  level: EventLevelSchema,
  message: Type.String({ maxLength: 2048 }),
}, { additionalProperties: false });
export type JobEvent = Static<typeof JobEventSchema>;

/** A node as built: its VM, instance UUID and address. */
export const NodeStatusSchema = Type.Object({
  name: DnsLabel,
  role: NodeRoleSchema,
  /** Managed object id of the VM (`vm-123`). */
  vm: Type.String({ maxLength: 64 }),
  instanceUuid: Type.String({ maxLength: 36 }),
  ip: Type.Union([Type.String({ maxLength: 45 }), Type.Null()]),
  ready: Type.Boolean(),
}, { additionalProperties: false });
export type NodeStatus = Static<typeof NodeStatusSchema>;

export const JobOutcomeSchema = Type.Union([Type.Literal('succeeded'), Type.Literal('failed'), Type.Literal('cancelled')]);
export type JobOutcome = Static<typeof JobOutcomeSchema>;

export const JobResultSchema = Type.Object({
  outcome: JobOutcomeSchema,
  error: Type.Optional(Type.Object({ code: Type.String({ pattern: '^PCG_ERR_[A-Z_]+$' }), message: Type.String({ maxLength: 2048 }) }, { additionalProperties: false })),
  /** The cluster's nodes after the job (empty after a delete). */
  nodes: Type.Array(NodeStatusSchema, { maxItems: 1000 }),
}, { additionalProperties: false });
export type JobResult = Static<typeof JobResultSchema>;
