/**
 * The inventory contract: which kinds of vSphere objects the relay may ask a gateway for, and
 * the one item shape that travels in `inventory.response` frames and the REST API alike.
 */
import { Type, type Static } from '@sinclair/typebox';

/** Kinds an inventory request may name. VMs are not among them: the portal places, it does not browse VMs. */
export const InventoryKindSchema = Type.Union([
  Type.Literal('datacenter'), Type.Literal('folder'), Type.Literal('cluster'), Type.Literal('host'),
  Type.Literal('resourcepool'), Type.Literal('datastore'), Type.Literal('network'), Type.Literal('template'),
]);
export type InventoryKind = Static<typeof InventoryKindSchema>;
export const INVENTORY_KINDS: readonly InventoryKind[] = InventoryKindSchema.anyOf.map((s) => s.const);

/** Standard port group, distributed port group, or an NSX opaque network. */
export const NetworkTypeSchema = Type.Union([Type.Literal('standard'), Type.Literal('distributed'), Type.Literal('opaque')]);
export type NetworkType = Static<typeof NetworkTypeSchema>;

export const InventoryItemSchema = Type.Object({
  kind: InventoryKindSchema,
  id: Type.String({ maxLength: 128, description: 'managed object id, e.g. datastore-12' }),
  name: Type.String({ maxLength: 512 }),
  path: Type.String({ maxLength: 4096, description: 'inventory path from the root, e.g. /DC0/host/DC0_C0' }),
  datacenter: Type.Union([Type.String({ maxLength: 256 }), Type.Null()]),
  capacity: Type.Optional(Type.Number({ minimum: 0, description: 'datastores: bytes' })),
  freeSpace: Type.Optional(Type.Number({ minimum: 0, description: 'datastores: bytes' })),
  networkType: Type.Optional(NetworkTypeSchema),
}, { additionalProperties: false });
export type InventoryItem = Static<typeof InventoryItemSchema>;

export function isInventoryKind(value: string): value is InventoryKind {
  return (INVENTORY_KINDS as readonly string[]).includes(value);
}
