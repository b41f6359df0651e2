import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { ManualClock } from '../../proto/clock.js';
import { GatewayHttpsServer } from '../../gateway/http/gateway-https-server.js';
import { NodeTokens } from '../../gateway/nodes/node-tokens.js';
import { EmbeddedRegistry, type RegistryRoutes } from '../../gateway/registry/embedded-registry.js';
import { silentLog } from '../support/job-fixtures.js';
import { OciClient } from '../support/oci-client.js';
import { tempDir } from '../support/temp-dir.js';
import { waitFor } from '../support/wait-for.js';

describe('registry: EmbeddedRegistry on the gateway HTTPS server', function () {
  this.timeout(30_000);

  it('collects garbage on its interval, registers extra route sets (the pack API slot) with the same store and auth, closes once', async () => {
    const dir = tempDir('registry-embedded');
    const clock = new ManualClock();
    const server = await GatewayHttpsServer.create({ host: '127.0.0.1', port: 0, publicUrl: null, certFile: null, keyFile: null, stateDir: dir.path }, { clock, log: silentLog });
    const seen: string[] = [];
    const extra: RegistryRoutes = async (app, { store, auth }) => {
      app.get('/v1/packs-probe', async () => ({ repositories: await store.listRepositories(), service: auth.options.service }));
      seen.push('registered');
      return Promise.resolve();
    };
    const registry = await EmbeddedRegistry.open({ stateDir: dir.path, username: null, passwordFile: null, gcIntervalMs: 20 },
      { app: server.app, clock, log: silentLog, readTokens: await NodeTokens.load(dir.path), routes: [extra] });
    await server.listen();
    const client = OciClient.create(server.url, server.caPem);
    try {
      assert.deepEqual(seen, ['registered']);
      assert.equal((await client.send('GET', '/v2/')).status, 404, 'routes: only what was given');
      const orphan = await registry.store.putBlob('lib/x', Readable.from([Buffer.from('orphan')]));
      const file = join(dir.path, 'registry', 'blobs', 'sha256', orphan.digest.slice(7, 9), orphan.digest.slice(7));
      assert.equal(existsSync(file), true);
      assert.deepEqual((await client.send('GET', '/v1/packs-probe')).json(), { repositories: ['lib/x'], service: 'pcg-registry' });
      clock.advance(3_600_001);
      await waitFor('the orphan blob collected', () => !existsSync(file) || undefined, 5_000);
      assert.equal(orphan.digest, `sha256:${createHash('sha256').update('orphan').digest('hex')}`);
    } finally {
      client.close();
      await server.close();
      await registry.close();
      await registry.close();
      dir.remove();
    }
  });
});
