import { join } from 'node:path';
import { requireFlag } from '../../proto/cli-support.js';
import { systemClock } from '../../proto/clock.js';
import { loadHashKey } from '../tls/relay-pki.js';
import { SecretHasher } from '../security/secret-hasher.js';
import { openDatabase } from '../store/database.js';
import { TenancyStore } from '../store/tenancy-store.js';

/** `pcg-relay admin create-tenant`: a tenant with a default project and an admin; prints the API key once. */
export async function createTenantCommand(flags: { readonly dataDir?: string; readonly name?: string; readonly databaseUrl?: string }): Promise<void> {
  const dataDir = requireFlag(flags.dataDir, 'data-dir');
  const name = requireFlag(flags.name, 'name');
  const hashKey = await loadHashKey(dataDir);
  const database = await openDatabase(flags.databaseUrl ?? join(dataDir, 'relay.db'));
  try {
    const created = await new TenancyStore(database.db, new SecretHasher(hashKey), systemClock).createTenant(name);
    process.stdout.write(`${JSON.stringify({ tenantId: created.tenantId, projectId: created.projectId, apiKey: created.apiKey })}\n`);
  } finally {
    await database.close();
  }
}
