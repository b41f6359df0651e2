import type { Kysely, Migration } from 'kysely';
import { versionSortKey } from '../../proto/registry/pack-tags.js';

/**
 * `gateway_packs.version_key` (proto/registry/pack-tags.ts versionSortKey) and an index on
 * (gateway, name, version_key): a gateway's packs list in the public listing's order (semver, not
 * text: 1.9.0 before 1.10.0) and page by the same keyset cursor, one index range scan a page.
 * Rows already stored get their key here; the column is NOT NULL with '' only while this runs.
 */
export function packSyncOrder(): Migration {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema.alterTable('gateway_packs').addColumn('version_key', 'text', (c) => c.notNull().defaultTo('')).execute();
      const rows = db as unknown as Kysely<{ gateway_packs: { gateway_id: string; name: string; version: string; version_key: string } }>;
      const versions = await rows.selectFrom('gateway_packs').select('version').distinct().execute();
      // One update per distinct version: the key depends on the version only.
      for (const { version } of versions) {
        await rows.updateTable('gateway_packs').set({ version_key: versionSortKey(version) }).where('version', '=', version).execute();
      }
      await db.schema.createIndex('gateway_packs_order').on('gateway_packs').columns(['gateway_id', 'name', 'version_key']).unique().execute();
    },
  };
}
