import { strict as assert } from 'node:assert';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { systemClock } from '../../proto/clock.js';
import { loadGatewayConfig } from '../../gateway/config/gateway-config.js';
import { GatewayDaemon } from '../../gateway/daemon/gateway-daemon.js';
import { ApiClient } from '../support/api-client.js';
import { createGateway, pairCli } from '../support/gateway-fixture.js';
import { silentLog as log } from '../support/job-fixtures.js';
import { OciClient } from '../support/oci-client.js';
import { RelayProcess } from '../support/relay-fixture.js';
import { tempDir } from '../support/temp-dir.js';

/** The daemon opens the embedded registry on its HTTPS server (registry.* config) and closes it. */
describe('registry: wired into GatewayDaemon', function () {
  this.timeout(60_000);
  const dir = tempDir('registry-daemon');
  let relay: RelayProcess;
  let state: string;
  let passwordFile: string;

  before(async () => {
    relay = await RelayProcess.start({ args: ['--heartbeat', '500ms'] });
    const api = new ApiClient(relay.url, relay.caCert, (await relay.createTenant('registry-daemon')).apiKey);
    const gw = await createGateway(api, 'dc-registry');
    state = join(dir.path, 'gw');
    assert.equal((await pairCli(relay, state, gw.pairingCode)).code, 0);
    passwordFile = join(dir.path, 'registry-password');
    writeFileSync(passwordFile, 'daemon-admin-pw\n', { mode: 0o600 });
  });
  after(async () => {
    await relay.stop();
    dir.remove();
  });

  it('serves /v2/ with the admin account from config; the store lives in <stateDir>/registry (registry.db 0600)', async () => {
    const config = loadGatewayConfig([`--state-dir=${state}`, '--https-host=127.0.0.1', '--https-port=0', '--registry-username=admin', `--registry-password-file=${passwordFile}`], {});
    const daemon = await GatewayDaemon.create(config, { clock: systemClock, log, proxy: {} });
    const client = OciClient.create(daemon.httpsUrl, readFileSync(join(state, 'gateway-ca.crt'), 'utf8'));
    try {
      assert.equal((await client.send('GET', '/v2/')).status, 401);
      assert.equal((await client.as(OciClient.basic('admin', 'daemon-admin-pw')).send('GET', '/v2/')).status, 200);
      assert.equal(statSync(join(state, 'registry', 'registry.db')).mode & 0o777, 0o600);
      assert.equal(statSync(join(state, 'registry', 'token.key')).mode & 0o777, 0o600);
    } finally {
      client.close();
      await daemon.close();
      await daemon.close();
    }
  });

  it('registry.enabled=false: no /v2/ routes (404), the rest of the server unchanged', async () => {
    const config = loadGatewayConfig([`--state-dir=${state}`, '--https-host=127.0.0.1', '--https-port=0', '--registry-enabled=false'], {});
    const daemon = await GatewayDaemon.create(config, { clock: systemClock, log, proxy: {} });
    const client = OciClient.create(daemon.httpsUrl, readFileSync(join(state, 'gateway-ca.crt'), 'utf8'));
    try {
      const reply = await client.send('GET', '/v2/');
      assert.equal(reply.status, 404);
      assert.equal(reply.json<{ code: string }>().code, 'PCG_ERR_NOT_FOUND');
    } finally {
      client.close();
      await daemon.close();
    }
  });
});
