import { strict as assert } from 'node:assert';
import { join } from 'node:path';
import Sqlite from 'better-sqlite3';
import type { ApiClient } from './api-client.js';
import type { RelayProcess } from './relay-fixture.js';

export interface ErrorBody { code: string; message: string }

/**
 * A valid profile body: os (with template), k8s, cni, csi, then `addons`. Its packs come from a
 * registry the relay does not look up yet (`private`, a gateway's), so tests not about packs need
 * none imported; pass `registry: 'public'` after importing matching packs (test/support/public-packs.ts).
 */
export function profileBody(name: string, options: { template?: string; addons?: number; cniValues?: string; registry?: string } = {}): Record<string, unknown> {
  const layer = (layer: string, pack: string, version: string, values = '') => ({ layer, registry: options.registry ?? 'private', name: pack, version, values });
  return {
    name,
    description: 'test profile',
    layers: [
      { ...layer('os', 'ubuntu', '22.4.0', 'timezone: UTC\n'), template: options.template ?? 'ubuntu-2204' },
      layer('k8s', 'kubernetes', '1.30.2', 'podCIDR: 192.168.0.0/16\n'),
      layer('cni', 'calico', '3.27.0', options.cniValues ?? 'mtu: 1450\n'),
      layer('csi', 'vsphere-csi', '3.1.0'),
      ...Array.from({ length: options.addons ?? 0 }, (_, i) => layer('addon', `addon-${i}`, '1.0.0')),
    ],
  };
}

/** An API client for a new user of the caller's tenant with one role grant. */
export async function userWithRole(admin: ApiClient, role: 'project-admin' | 'project-viewer', projectId: string): Promise<ApiClient> {
  const user = await admin.post<{ id: string }>('/v1/users', { email: `${role}-${Math.random().toString(36).slice(2)}@t.io`, name: role, grants: [{ role, projectId }] });
  assert.equal(user.status, 201, JSON.stringify(user.body));
  const key = await admin.post<{ apiKey: string }>(`/v1/users/${user.body.id}/apikeys`, { name: 'k' });
  return admin.withKey(key.body.apiKey);
}

/** Reads a relay's SQLite store with its own connection: what a refused request left behind. */
export class StoreProbe {
  readonly #db: Sqlite.Database;

  constructor(relay: RelayProcess) {
    this.#db = new Sqlite(join(relay.dataDir, 'relay.db'));
    this.#db.pragma('busy_timeout = 5000');
  }

  /** Row counts of the cluster tables. */
  counts(): Record<string, number> {
    const tables = ['cluster_profiles', 'ip_pools', 'ip_allocations', 'clusters', 'cluster_nodes', 'jobs', 'cluster_events'];
    return Object.fromEntries(tables.map((t) => [t, (this.#db.prepare(`select count(*) as n from ${t}`).get() as { n: number }).n]));
  }

  all<T>(query: string, ...params: unknown[]): T[] {
    return this.#db.prepare(query).all(...params) as T[];
  }

  run(query: string, ...params: unknown[]): void {
    this.#db.prepare(query).run(...params);
  }

  close(): void {
    this.#db.close();
  }
}
