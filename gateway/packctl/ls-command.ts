import type { PackPage, PackView } from './pack-view.js';
import { packScope, withRegistry, type PackctlGlobals } from './packctl-context.js';

export interface LsOptions {
  readonly name?: string;
  readonly layer?: string;
  readonly cloudType?: string;
  readonly json?: boolean;
}

/** `packctl ls`: every pack matching the filters (all pages), as a table or one JSON array. */
export async function lsCommand(options: LsOptions, globals: PackctlGlobals): Promise<void> {
  const items: PackView[] = await withRegistry(globals, [packScope(options.name, 'pull')], async (client) => {
    const all: PackView[] = [];
    let cursor: string | null = null;
    do {
      const query = new URLSearchParams({ limit: '1000' });
      if (options.name) query.set('name', options.name);
      if (options.layer) query.set('layer', options.layer);
      if (options.cloudType) query.set('cloudType', options.cloudType);
      if (cursor) query.set('cursor', cursor);
      const page: PackPage = await client.json<PackPage>('GET', `/v1/packs?${query.toString()}`);
      all.push(...page.items);
      cursor = page.nextCursor;
    } while (cursor);
    return all;
  });
  if (options.json) {
    process.stdout.write(`${JSON.stringify(items)}\n`);
    return;
  }
  const rows = [['NAME', 'VERSION', 'LAYER', 'CLOUD TYPES', 'TAGS', 'DIGEST'],
    ...items.map((p) => [p.name, p.version, p.layer, p.cloudTypes.join(','), p.tags.join(',') || '-', p.digest.slice(0, 19)])];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  process.stdout.write(rows.map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n') + '\n');
}
