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
 *
 * A full report too large for one frame (MAX_FRAME_BYTES) goes in parts: the same `generation`,
 * `index_digest` and `report {id, part, parts}` on each, sent one at a time, each acked. The relay
 * keeps the parts of the session's report aside and applies them only with the last one, in one
 * transaction, verified by digest; a part out of order, another report id or a closed session
 * drops what was kept (ack `resync`), so a report is applied whole or not at all.
 *
 *   <------- registry.index {id, mode: full, report {id: r, part: 1, parts: 3}, packs[…]}
 *   registry.index.ack {id, generation: <stored>, resync: false} ->   kept, not applied
 *   <------- … part 2, part 3
 *   registry.index.ack {id, generation, resync} ------->  all three applied at once, or nothing
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

/** Most packs in one frame; a frame also stays under MAX_FRAME_BYTES (the reporter splits by bytes too). */
export const MAX_PACKS_PER_FRAME = 4000;
/** Most parts of one full report: 256 × 4000 packs is far above any registry, and bounds what the relay keeps aside. */
export const MAX_REPORT_PARTS = 256;

/** Which part of a multi-frame full report this is; `part` counts from 1. */
export const ReportPartSchema = Type.Object({
  id: Type.String({ pattern: '^[0-9a-f]{16,64}$' }),
  part: Type.Integer({ minimum: 1, maximum: MAX_REPORT_PARTS }),
  parts: Type.Integer({ minimum: 2, maximum: MAX_REPORT_PARTS }),
}, { additionalProperties: false });

export const RegistryIndexFrame = Type.Union([
  Type.Object({
    type: Type.Literal('registry.index'),
    id: RequestId,
    mode: Type.Literal('full'),
    generation: Generation,
    /** Absent: the whole report is this frame. */
    report: Type.Optional(ReportPartSchema),
    packs: Type.Array(PackIndexItemSchema, { maxItems: MAX_PACKS_PER_FRAME }),
    /** The whole index's digest (after the last part, for a report in parts). */
    index_digest: IndexDigest,
  }, { additionalProperties: false }),
  Type.Object({
    type: Type.Literal('registry.index'),
    id: RequestId,
    mode: Type.Literal('delta'),
    base_generation: Generation,
    generation: Generation,
    upserts: Type.Array(PackIndexItemSchema, { maxItems: MAX_PACKS_PER_FRAME }),
    removals: Type.Array(PackIndexRemovalSchema, { maxItems: MAX_PACKS_PER_FRAME }),
    index_digest: IndexDigest,
  }, { additionalProperties: false }),
]);

/**
 * `generation`: what the relay now stores; `resync`: the report did not apply, send a full report.
 * For a part before the last: `resync: false` means kept (nothing applied yet).
 */
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
export type ReportPart = Static<typeof ReportPartSchema>;
export type RegistryIndexFrame = Static<typeof RegistryIndexFrame>;
export type RegistryIndexAckFrame = Static<typeof RegistryIndexAckFrame>;
export type RegistryResyncFrame = Static<typeof RegistryResyncFrame>;
export type RegistryResyncAckFrame = Static<typeof RegistryResyncAckFrame>;
