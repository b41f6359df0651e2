/** Request and response schemas of cluster profiles, IP pools and clusters (REST API). */
import { Type, type Static } from '@sinclair/typebox';
import { DnsLabel, Ipv4, JobKindSchema, JobStateSchema, PackLayerSchema, PlacementSchema } from '../../proto/schemas/jobs.js';

const Time = Type.Union([Type.String({ format: 'date-time' }), Type.Null()]);
const Name = Type.String({ minLength: 1, maxLength: 128, pattern: '^[^\\u0000-\\u001f]+$' });

export const ProfileIdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }), profileId: Type.String({ minLength: 1, maxLength: 64 }) });

export const ProfileLayer = Type.Object({
  layer: PackLayerSchema,
  registry: Type.String({ minLength: 1, maxLength: 256 }),
  name: Type.String({ minLength: 1, maxLength: 128 }),
  version: Type.String({ minLength: 1, maxLength: 64, description: 'semantic version' }),
  values: Type.String({ maxLength: 262_144, description: 'YAML text (a mapping), parsed when the profile is written' }),
  template: Type.Optional(Type.String({ minLength: 1, maxLength: 1024, description: 'os layer only: the VM template to clone (name or path)' })),
}, { additionalProperties: false });

export const ProfileBody = Type.Object({
  name: Name,
  description: Type.String({ maxLength: 4096, default: '' }),
  layers: Type.Array(ProfileLayer, { minItems: 1, maxItems: 64, description: 'os, k8s, cni, csi, then any addons' }),
}, { additionalProperties: false });
export type ProfileBody = Static<typeof ProfileBody>;

export const Profile = Type.Object({
  id: Type.String(),
  projectId: Type.Union([Type.String(), Type.Null()], { description: 'null: tenant-wide, usable by every project' }),
  name: Type.String(),
  description: Type.String(),
  layers: Type.Array(ProfileLayer),
  createdAt: Time,
  updatedAt: Time,
});

export const IpPoolBody = Type.Object({
  name: Name,
  range: Type.Optional(Type.Object({ start: Ipv4, end: Ipv4 }, { additionalProperties: false })),
  subnet: Type.Optional(Type.String({ maxLength: 18, description: 'a.b.c.d/n: every host address but network, broadcast and gateway' })),
  prefix: Type.Optional(Type.Integer({ minimum: 1, maximum: 32 })),
  gateway: Type.Optional(Ipv4),
  dns: Type.Array(Ipv4, { maxItems: 8, default: [] }),
  searchDomains: Type.Array(Type.String({ minLength: 1, maxLength: 253, pattern: '^[A-Za-z0-9.-]+$' }), { maxItems: 8, default: [] }),
}, { additionalProperties: false });
export type IpPoolBody = Static<typeof IpPoolBody>;

export const IpPool = Type.Object({
  id: Type.String(),
  cloudAccountId: Type.String(),
  name: Type.String(),
  range: Type.Object({ start: Type.String(), end: Type.String() }),
  prefix: Type.Integer(),
  gateway: Type.Union([Type.String(), Type.Null()]),
  dns: Type.Array(Type.String()),
  searchDomains: Type.Array(Type.String()),
  size: Type.Integer(),
  allocated: Type.Integer(),
  free: Type.Integer(),
  createdAt: Time,
});

const nodeSize = {
  cpus: Type.Integer({ minimum: 1, maximum: 128 }),
  memoryMiB: Type.Integer({ minimum: 512, maximum: 4_194_304 }),
  diskGiB: Type.Integer({ minimum: 1, maximum: 65_536 }),
};

export const NodePools = Type.Object({
  controlPlane: Type.Object({ count: Type.Union([Type.Literal(1), Type.Literal(3)], { description: '1 or 3' }), ...nodeSize }, { additionalProperties: false }),
  workers: Type.Object({ count: Type.Integer({ minimum: 0, maximum: 500 }), ...nodeSize }, { additionalProperties: false }),
}, { additionalProperties: false });
export type NodePools = Static<typeof NodePools>;

export const Addressing = Type.Union([
  Type.Object({ mode: Type.Literal('dhcp') }, { additionalProperties: false }),
  Type.Object({ mode: Type.Literal('static'), poolId: Type.String({ minLength: 1, maxLength: 64 }) }, { additionalProperties: false }),
]);
export type Addressing = Static<typeof Addressing>;

export const CreateClusterBody = Type.Object({
  name: DnsLabel,
  profileId: Type.String({ minLength: 1, maxLength: 64 }),
  cloudAccountId: Type.String({ minLength: 1, maxLength: 64 }),
  placement: PlacementSchema,
  nodePools: NodePools,
  addressing: Addressing,
}, { additionalProperties: false });
export type CreateClusterBody = Static<typeof CreateClusterBody>;

/** Only the worker count changes; a control-plane count is accepted only when it is unchanged. */
export const ScaleClusterBody = Type.Object({
  workers: Type.Optional(Type.Object({ count: Type.Integer({ minimum: 0, maximum: 500 }) }, { additionalProperties: false })),
  controlPlane: Type.Optional(Type.Object({ count: Type.Integer({ minimum: 0 }) }, { additionalProperties: false })),
}, { additionalProperties: false });
export type ScaleClusterBody = Static<typeof ScaleClusterBody>;

export const ClusterNode = Type.Object({
  name: Type.String(),
  role: Type.Union([Type.Literal('control-plane'), Type.Literal('worker')]),
  state: Type.Union([Type.Literal('desired'), Type.Literal('present'), Type.Literal('missing'), Type.Literal('removing')]),
  ip: Type.Union([Type.String(), Type.Null()]),
  vm: Type.Union([Type.String(), Type.Null()]),
  ready: Type.Boolean(),
});

export const Cluster = Type.Object({
  id: Type.String(),
  projectId: Type.String(),
  name: Type.String(),
  state: Type.Union([
    Type.Literal('provisioning'), Type.Literal('running'), Type.Literal('failed'), Type.Literal('scaling'), Type.Literal('deleting'), Type.Literal('deleted'),
  ]),
  profileId: Type.String(),
  cloudAccountId: Type.String(),
  gatewayId: Type.String(),
  placement: PlacementSchema,
  nodePools: NodePools,
  addressing: Addressing,
  nodes: Type.Array(ClusterNode),
  latestJob: Type.Union([Type.Object({ id: Type.String(), kind: JobKindSchema, state: JobStateSchema }), Type.Null()]),
  createdAt: Time,
  updatedAt: Time,
});
