/**
 * The pack index: one SQLite file (`<dir>/packs.db`, better-sqlite3) with a row per pack version
 * and per tag, for listing and filtering without reading every manifest and pack.json from the
 * content store. The store stays the source of truth: the index is written after the store on
 * every change, and rebuilt from the store (PackRegistry.reindex) when the file is missing.
 *
 * Listing is keyset-paginated on (name, version sort key): a cursor is the last row's key, so
 * pages stay stable while packs are added or removed, and a page costs one index range scan.
 */
import Sqlite, { type Database } from 'better-sqlite3';
import type { Digest } from './content-store.js';
import { tagKind, versionSortKey, type PackTagKind } from './pack-tags.js';
import { decodePackCursor, encodePackCursor } from './pack-list-cursor.js';
import { PcgError } from '../errors.js';

/** One pack version as the index keeps it. */
export interface PackIndexEntry {
  readonly name: string;
  readonly version: string;
  readonly displayName: string;
  readonly layer: string;
  readonly cloudTypes: readonly string[];
  readonly addonType: string | null;
  /** Digest of the OCI manifest. */
  readonly manifestDigest: Digest;
  /** Digest and size of the zip: what a download returns. */
  readonly archiveDigest: Digest;
  readonly archiveSize: number;
  readonly message: string | null;
}

export interface PackTag {
  readonly tag: string;
  readonly version: string;
  readonly kind: PackTagKind;
}

export interface PackListQuery {
  readonly name?: string;
  readonly layer?: string;
  /** Packs for this cloud type; packs for `all` match every cloud type. */
  readonly cloudType?: string;
  /** @default 100 */
  readonly limit?: number;
  readonly cursor?: string;
}

export interface PackListPage {
  readonly items: readonly PackIndexEntry[];
  /** Pass as `cursor` for the next page; null on the last page. */
  readonly nextCursor: string | null;
}

export const DEFAULT_PACK_LIST_LIMIT = 100;
export const MAX_PACK_LIST_LIMIT = 1000;

interface Row {
  name: string; version: string; version_key: string; display_name: string; layer: string; cloud_types: string;
  addon_type: string | null; manifest_digest: string; archive_digest: string; archive_size: number; message: string | null;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS packs (
  name TEXT NOT NULL, version TEXT NOT NULL, version_key TEXT NOT NULL, display_name TEXT NOT NULL,
  layer TEXT NOT NULL, cloud_types TEXT NOT NULL, addon_type TEXT, manifest_digest TEXT NOT NULL,
  archive_digest TEXT NOT NULL, archive_size INTEGER NOT NULL, message TEXT,
  PRIMARY KEY (name, version));
CREATE UNIQUE INDEX IF NOT EXISTS packs_order ON packs (name, version_key);
CREATE INDEX IF NOT EXISTS packs_layer ON packs (layer, name, version_key);
CREATE TABLE IF NOT EXISTS pack_tags (
  name TEXT NOT NULL, tag TEXT NOT NULL, version TEXT NOT NULL, PRIMARY KEY (name, tag));
CREATE INDEX IF NOT EXISTS pack_tags_version ON pack_tags (name, version);
`;

export class PackIndex {
  private constructor(private readonly db: Database) {}

  /** Opens (creating) the index at `file`; `:memory:` for a throwaway one. */
  static open(file: string): PackIndex {
    const db = new Sqlite(file);
    try {
      db.pragma('journal_mode = WAL');
      db.exec(SCHEMA);
    } catch (err) {
      db.close();
      throw err;
    }
    return new PackIndex(db);
  }

  put(entry: PackIndexEntry): void {
    this.db.prepare(`INSERT OR REPLACE INTO packs VALUES (@name, @version, @key, @displayName, @layer, @cloudTypes, @addonType,
      @manifestDigest, @archiveDigest, @archiveSize, @message)`).run({
      ...entry, key: versionSortKey(entry.version), cloudTypes: JSON.stringify(entry.cloudTypes),
    });
  }

  /** Removes a version and every tag pointing at it. */
  remove(name: string, version: string): void {
    this.db.transaction(() => {
      this.db.prepare('DELETE FROM packs WHERE name = ? AND version = ?').run(name, version);
      this.db.prepare('DELETE FROM pack_tags WHERE name = ? AND version = ?').run(name, version);
    })();
  }

  get(name: string, version: string): PackIndexEntry | undefined {
    const row = this.db.prepare('SELECT * FROM packs WHERE name = ? AND version = ?').get(name, version) as Row | undefined;
    return row && toEntry(row);
  }

  /** The version whose manifest or archive has this digest. */
  byDigest(name: string, digest: string): PackIndexEntry | undefined {
    const row = this.db.prepare('SELECT * FROM packs WHERE name = ? AND (manifest_digest = ? OR archive_digest = ?) ORDER BY version_key DESC LIMIT 1')
      .get(name, digest, digest) as Row | undefined;
    return row && toEntry(row);
  }

  /** Every version of `name`, oldest first. */
  versions(name: string): string[] {
    return (this.db.prepare('SELECT version FROM packs WHERE name = ? ORDER BY version_key').all(name) as { version: string }[]).map((r) => r.version);
  }

  list(query: PackListQuery = {}): PackListPage {
    const limit = query.limit ?? DEFAULT_PACK_LIST_LIMIT;
    if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_PACK_LIST_LIMIT) {
      throw new PcgError('PCG_ERR_BAD_REQUEST', `limit must be 1 to ${MAX_PACK_LIST_LIMIT}`);
    }
    const where: string[] = [];
    const params: Record<string, string | number> = { limit: limit + 1 };
    if (query.name !== undefined) { where.push('name = @name'); params.name = query.name; }
    if (query.layer !== undefined) { where.push('layer = @layer'); params.layer = query.layer; }
    if (query.cloudType !== undefined) {
      where.push(`EXISTS (SELECT 1 FROM json_each(packs.cloud_types) WHERE value IN (@cloudType, 'all'))`);
      params.cloudType = query.cloudType;
    }
    if (query.cursor !== undefined) {
      const [name, key] = decodePackCursor(query.cursor);
      where.push('(name, version_key) > (@cursorName, @cursorKey)');
      params.cursorName = name;
      params.cursorKey = key;
    }
    const sql = `SELECT * FROM packs ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY name, version_key LIMIT @limit`;
    const rows = this.db.prepare(sql).all(params) as Row[];
    const more = rows.length > limit;
    const page = more ? rows.slice(0, limit) : rows;
    const last = page[page.length - 1];
    return { items: page.map(toEntry), nextCursor: more && last ? encodePackCursor(last.name, last.version_key) : null };
  }

  setTag(name: string, tag: string, version: string): void {
    this.db.prepare('INSERT OR REPLACE INTO pack_tags VALUES (?, ?, ?)').run(name, tag, version);
  }

  removeTag(name: string, tag: string): void {
    this.db.prepare('DELETE FROM pack_tags WHERE name = ? AND tag = ?').run(name, tag);
  }

  tag(name: string, tag: string): PackTag | undefined {
    const row = this.db.prepare('SELECT tag, version FROM pack_tags WHERE name = ? AND tag = ?').get(name, tag) as { tag: string; version: string } | undefined;
    return row && { ...row, kind: tagKind(row.tag) };
  }

  /** Tags of one name (optionally of one version of it), in lexical order. */
  tags(name: string, version?: string): PackTag[] {
    const rows = (version === undefined
      ? this.db.prepare('SELECT tag, version FROM pack_tags WHERE name = ? ORDER BY tag').all(name)
      : this.db.prepare('SELECT tag, version FROM pack_tags WHERE name = ? AND version = ? ORDER BY tag').all(name, version)) as { tag: string; version: string }[];
    return rows.map((r) => ({ ...r, kind: tagKind(r.tag) }));
  }

  /** Replaces everything at once (a rebuild is all or nothing). */
  replaceAll(entries: readonly PackIndexEntry[], tags: readonly { readonly name: string; readonly tag: string; readonly version: string }[]): void {
    this.db.transaction(() => {
      this.db.exec('DELETE FROM pack_tags; DELETE FROM packs;');
      for (const entry of entries) this.put(entry);
      for (const t of tags) this.setTag(t.name, t.tag, t.version);
    })();
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}

function toEntry(row: Row): PackIndexEntry {
  return {
    name: row.name, version: row.version, displayName: row.display_name, layer: row.layer,
    cloudTypes: JSON.parse(row.cloud_types) as string[], addonType: row.addon_type,
    manifestDigest: row.manifest_digest as Digest, archiveDigest: row.archive_digest as Digest,
    archiveSize: row.archive_size, message: row.message,
  };
}
