/** Request and response schemas of the REST API; they drive validation and /docs/json. */
import { Type, type Static } from '@sinclair/typebox';
import { InventoryItemSchema, InventoryKindSchema } from '../../proto/schemas/inventory.js';

export const ErrorBody = Type.Object({ code: Type.String(), message: Type.String() }, { $id: 'ErrorBody' });
const Time = Type.Union([Type.String({ format: 'date-time' }), Type.Null()]);
const Name = Type.String({ minLength: 1, maxLength: 128, pattern: '^[^\\u0000-\\u001f]+$' });
export const IdParam = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) });

export const RoleGrant = Type.Object({
  role: Type.Union([Type.Literal('tenant-admin'), Type.Literal('project-admin'), Type.Literal('project-viewer')]),
  projectId: Type.Union([Type.String(), Type.Null()]),
}, { additionalProperties: false });

export const Tenant = Type.Object({ id: Type.String(), name: Type.String(), createdAt: Time });
export const Project = Type.Object({ id: Type.String(), name: Type.String(), createdAt: Time });
export const CreateProject = Type.Object({ name: Name }, { additionalProperties: false });
export const User = Type.Object({ id: Type.String(), email: Type.String(), name: Type.String(), grants: Type.Array(RoleGrant), createdAt: Time });
export const CreateUser = Type.Object({
  email: Type.String({ minLength: 3, maxLength: 254, pattern: '^[^@\\s]+@[^@\\s]+$' }),
  name: Name,
  grants: Type.Array(RoleGrant, { maxItems: 64 }),
}, { additionalProperties: false });
export const ApiKey = Type.Object({ id: Type.String(), userId: Type.String(), name: Type.String(), createdAt: Time, revokedAt: Time });
export const CreateApiKey = Type.Object({ name: Name }, { additionalProperties: false });
export const CreatedApiKey = Type.Object({ id: Type.String(), userId: Type.String(), name: Type.String(), apiKey: Type.String({ description: 'shown once' }), createdAt: Time });

export const GatewayStatus = Type.Union([Type.Literal('pending-pairing'), Type.Literal('online'), Type.Literal('offline'), Type.Literal('revoked')]);
export const Gateway = Type.Object({
  id: Type.String(),
  name: Type.String(),
  status: GatewayStatus,
  createdAt: Time,
  pairedAt: Time,
  revokedAt: Time,
  lastHeartbeatAt: Time,
  version: Type.Union([Type.String(), Type.Null()]),
  clockSkewMs: Type.Union([Type.Integer(), Type.Null()]),
  certExpiresAt: Time,
  sessionEpoch: Type.Integer(),
  /**
   * The gateway's current pairing code, on GET /v1/gateways/:id only: the tenant admin's view of
   * what a pairing caller is never told (locked and used answer like a wrong code there).
   */
  pairingCode: Type.Optional(Type.Union([Type.Object({
    state: Type.Union([Type.Literal('active'), Type.Literal('used'), Type.Literal('expired'), Type.Literal('locked')]),
    expiresAt: Type.String({ format: 'date-time' }),
    failedAttempts: Type.Integer({ minimum: 0 }),
  }), Type.Null()])),
});
export const CreateGateway = Type.Object({ name: Name }, { additionalProperties: false });
export const PairingCodeIssued = Type.Object({
  id: Type.String(),
  pairingCode: Type.String({ description: 'XXXX-XXXX-XXXX-XXXX, shown once' }),
  caPin: Type.String({ description: 'sha256/<base64 SPKI> of the relay CA, to give the installer with the code' }),
  expiresAt: Type.String({ format: 'date-time' }),
});
export const CloudAccount = Type.Object({
  id: Type.String(),
  name: Type.String(),
  kind: Type.Literal('gateway'),
  gatewayId: Type.String(),
  scope: Type.Literal('tenant', { description: 'shared with every project of the tenant' }),
  metadata: Type.Record(Type.String(), Type.Unknown()),
  createdAt: Time,
});

export const InventoryQuery = Type.Object({
  kind: InventoryKindSchema,
  datacenter: Type.Optional(Type.String({ minLength: 1, maxLength: 256 })),
}, { additionalProperties: false });
export const InventoryResult = Type.Object({
  cloudAccountId: Type.String(),
  kind: InventoryKindSchema,
  items: Type.Array(InventoryItemSchema),
});

export type CreateUser = Static<typeof CreateUser>;
export const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());
