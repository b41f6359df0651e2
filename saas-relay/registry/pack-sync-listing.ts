/**
 * `GET /v1/packs` as the relay documents it, and the part of it that concerns gateway indexes:
 * the query (the public listing's filters and page, plus `source`), the page it answers with, and
 * the one parser both homes of the route (pack-sync-routes.ts) use for `source=gateway:<id>`.
 */
import { Type, type Static } from '@sinclair/typebox';
import { PcgError } from '../../proto/errors.js';
import { PACK_NAME_PATTERN } from '../../proto/packs/pack-manifest.js';
import { MAX_GATEWAY_PACK_LIMIT, type GatewayPackQuery } from './pack-sync-store.js';

export const PUBLIC_SOURCE = 'public';

/**
 * Strings, as a query string carries them (the relay's validator does not coerce); `limit` is
 * checked by parsePackListQuery with the same bounds and message as the public listing.
 */
export const PackListQuery = Type.Object({
  source: Type.Optional(Type.String({ maxLength: 128, description: '"public" (default) or "gateway:<id>"' })),
  name: Type.Optional(Type.String({ pattern: PACK_NAME_PATTERN, maxLength: 64 })),
  layer: Type.Optional(Type.String({ maxLength: 32, description: 'kernel | os | k8s | cni | csi | addon' })),
  cloudType: Type.Optional(Type.String({ maxLength: 32, description: "packs for this cloud type, and packs for 'all'" })),
  limit: Type.Optional(Type.String({ pattern: '^[0-9]{1,7}$', description: `page size, 1 to ${MAX_GATEWAY_PACK_LIMIT} (default 100)` })),
  cursor: Type.Optional(Type.String({ maxLength: 512, description: 'nextCursor of the page before' })),
}, { additionalProperties: false });

export const PackListItem = Type.Object({
  name: Type.String(),
  version: Type.String(),
  layer: Type.String(),
  cloudTypes: Type.Array(Type.String()),
  digest: Type.String({ description: "the archive's digest" }),
  source: Type.String({ description: '"public" or "gateway:<id>"' }),
  displayName: Type.Optional(Type.String()),
  addonType: Type.Optional(Type.Union([Type.String(), Type.Null()])),
  size: Type.Optional(Type.Integer()),
  manifestDigest: Type.Optional(Type.String()),
  message: Type.Optional(Type.Union([Type.String(), Type.Null()])),
  tags: Type.Optional(Type.Array(Type.String())),
}, { $id: 'PackListItem' });

export const PackListPage = Type.Object({
  items: Type.Array(PackListItem),
  nextCursor: Type.Union([Type.String(), Type.Null()], { description: 'pass as cursor for the next page; null on the last' }),
}, { $id: 'PackListPage' });

export type PackListFilter = GatewayPackQuery;

const QUERY_KEYS = new Set(Object.keys(PackListQuery.properties));

/** The gateway id of `source=gateway:<id>`; undefined for the public registry (the default). */
export function gatewaySourceOf(source: unknown): string | undefined {
  if (source === undefined || source === PUBLIC_SOURCE) return undefined;
  const gatewayId = typeof source === 'string' ? /^gateway:(.+)$/.exec(source)?.[1] : undefined;
  if (gatewayId === undefined) throw new PcgError('PCG_ERR_BAD_REQUEST', 'querystring/source must be "public" or "gateway:<id>"');
  return gatewayId;
}

/** The filters and page of a raw query (strings, or numbers where a validator coerced them). */
export function parsePackListQuery(query: Record<string, unknown> | Static<typeof PackListQuery>): PackListFilter {
  const raw = query as Record<string, unknown>;
  const unknown = Object.keys(raw).find((key) => !QUERY_KEYS.has(key));
  if (unknown !== undefined) throw new PcgError('PCG_ERR_BAD_REQUEST', `querystring/${unknown.slice(0, 64)} is not a filter of this listing`);
  const text = (key: string): string | undefined => {
    const value = raw[key];
    if (value === undefined) return undefined;
    if (typeof value !== 'string' || value.length === 0 || value.length > 512) throw new PcgError('PCG_ERR_BAD_REQUEST', `querystring/${key} must be one non-empty string`);
    return value;
  };
  const limitText = typeof raw.limit === 'number' ? String(raw.limit) : raw.limit === undefined ? undefined : typeof raw.limit === 'string' ? raw.limit : '';
  const limit = limitText === undefined ? undefined : /^[0-9]{1,7}$/.test(limitText) ? Number(limitText) : Number.NaN;
  if (limit !== undefined && !(limit >= 1 && limit <= MAX_GATEWAY_PACK_LIMIT)) throw new PcgError('PCG_ERR_BAD_REQUEST', `limit must be 1 to ${MAX_GATEWAY_PACK_LIMIT}`);
  const name = text('name');
  const layer = text('layer');
  const cloudType = text('cloudType');
  const cursor = text('cursor');
  return {
    ...(name !== undefined ? { name } : {}), ...(layer !== undefined ? { layer } : {}), ...(cloudType !== undefined ? { cloudType } : {}),
    ...(limit !== undefined ? { limit } : {}), ...(cursor !== undefined ? { cursor } : {}),
  };
}
