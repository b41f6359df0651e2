import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { systemClock } from '../../proto/clock.js';
import { GatewayHttpsServer } from '../../gateway/http/gateway-https-server.js';
import { NodeTokens } from '../../gateway/nodes/node-tokens.js';
import { EmbeddedRegistry } from '../../gateway/registry/embedded-registry.js';
import { makeJob, silentLog } from './job-fixtures.js';
import { OciClient } from './oci-client.js';
import { tempDir } from './temp-dir.js';

export const REGISTRY_ADMIN = { user: 'admin', password: 'correct horse battery staple' } as const;

/** The gateway's real HTTPS server (port 0) with the embedded registry on it, an admin account and node tokens. */
export interface OciRegistryFixture {
  readonly stateDir: string;
  readonly server: GatewayHttpsServer;
  readonly registry: EmbeddedRegistry;
  readonly tokens: NodeTokens;
  /** Authenticated as the admin (basic). */
  readonly client: OciClient;
  /** Scopes `clusterId`'s pack read token to these gateway packs, as a cluster job does before nodes boot. */
  grantPacks(clusterId: string, packs: ReadonlyArray<{ readonly name: string; readonly version: string }>): Promise<void>;
  close(): Promise<void>;
}

export async function startOciRegistry(prefix: string): Promise<OciRegistryFixture> {
  const dir = tempDir(prefix);
  const passwordFile = join(dir.path, 'registry-password');
  writeFileSync(passwordFile, `${REGISTRY_ADMIN.password}\n`, { mode: 0o600 });
  const tokens = await NodeTokens.load(dir.path);
  const server = await GatewayHttpsServer.create({ host: '127.0.0.1', port: 0, publicUrl: null, certFile: null, keyFile: null, stateDir: dir.path }, { clock: systemClock, log: silentLog });
  const registry = await EmbeddedRegistry.open({ stateDir: dir.path, username: REGISTRY_ADMIN.user, passwordFile }, { app: server.app, clock: systemClock, log: silentLog, readTokens: tokens });
  await server.listen();
  const client = OciClient.create(server.url, server.caPem, OciClient.basic(REGISTRY_ADMIN.user, REGISTRY_ADMIN.password));
  return {
    stateDir: dir.path, server, registry, tokens, client,
    grantPacks: async (clusterId, packs) => {
      const spec = { ...makeJob(clusterId).cluster, packs: packs.map(({ name, version }) => ({ layer: 'addon' as const, registry: 'gateway' as const, name, version, values: '' })) };
      await registry.clusterPacks.prepare(spec, new AbortController().signal);
    },
    close: async () => {
      client.close();
      await server.close();
      await registry.close();
      dir.remove();
    },
  };
}
