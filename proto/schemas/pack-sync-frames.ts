/** Pack index sync frames: the gateway's private pack index mirrored on the relay. */
import { Type, type Static } from '@sinclair/typebox';
import { RequestId } from './common.js';

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
