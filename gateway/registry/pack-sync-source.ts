import { existsSync } from 'node:fs';
import { join } from 'node:path';
import Sqlite, { type Database } from 'better-sqlite3';
import type { PackIndexItem } from '../../proto/schemas/frames.js';

/** Where the embedded registry keeps its pack index (pack-registry-routes.ts: `<store dir>/../packs/packs.db`). */
export function packIndexFile(stateDir: string): string {
  return join(stateDir, 'packs', 'packs.db');
}

/** What the reporter reads: the index rows, and a number that changes whenever they may have. */
export interface PackSyncSource {
  /** Changes after every write another connection commits (SQLite's `data_version`). */
  version(): number;
  /** Every pack version, as the tunnel carries it, in (name, version) order. */
  entries(): PackIndexItem[];
  close(): void;
}

/**
 * A read-only connection to the embedded registry's `packs.db`. The registry writes it on its own
 * connection; this one only reads, and `PRAGMA data_version` tells it when to read again, so an
 * idle registry costs one pragma per poll. Undefined when the file is missing (registry disabled).
 */
export function openPackSyncSource(file: string): PackSyncSource | undefined {
  if (!existsSync(file)) return undefined;
  const db: Database = new Sqlite(file, { readonly: true, fileMustExist: true });
  const list = db.prepare('SELECT name, version, archive_digest AS digest, layer, cloud_types FROM packs ORDER BY name, version');
  const dataVersion = db.prepare('PRAGMA data_version').pluck();
  return {
    version: () => dataVersion.get() as number,
    entries: () => (list.all() as Array<Omit<PackIndexItem, 'cloud_types'> & { cloud_types: string }>)
      .map((row) => ({ ...row, cloud_types: JSON.parse(row.cloud_types) as string[] })),
    close: () => {
      if (db.open) db.close();
    },
  };
}
