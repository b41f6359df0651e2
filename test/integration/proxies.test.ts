import { strict as assert } from 'node:assert';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ApiClient } from '../support/api-client.js';
import { ConnectProxy } from '../support/connect-proxy.js';
import { createGateway, gatewayStatusJson, pairCli, runGateway } from '../support/gateway-fixture.js';
import { RelayProcess } from '../support/relay-fixture.js';
import { tempDir } from '../support/temp-dir.js';
import { waitFor } from '../support/wait-for.js';

describe('outbound proxies', function () {
  this.timeout(60_000);
  let relay: RelayProcess;
  let api: ApiClient;
  const dir = tempDir('gw-proxy');
  const noProxyEnv = { NO_PROXY: '', no_proxy: '' };

  before(async () => {
    relay = await RelayProcess.start({ args: ['--heartbeat', '500ms'] });
    api = new ApiClient(relay.url, relay.caCert, (await relay.createTenant('proxy')).apiKey);
  });
  after(async () => {
    await relay.stop();
    dir.remove();
  });

  it('pairs and runs through a plain CONNECT proxy (HTTPS_PROXY)', async () => {
    const proxy = await ConnectProxy.start('tunnel');
    const gateway = { stop: () => Promise.resolve() };
    try {
      const gw = await createGateway(api, 'dc-proxied');
      const state = join(dir.path, 'proxied');
      const env = { ...noProxyEnv, HTTPS_PROXY: proxy.url };
      const out = await pairCli(relay, state, gw.pairingCode, [], env);
      assert.equal(out.code, 0, out.stderr);
      const run = runGateway(state, [], env);
      gateway.stop = () => run.stop();
      await waitFor('online through the proxy', async () => (await gatewayStatusJson(state)).tunnel === 'online');
      assert.equal((await api.get<{ status: string }>(`/v1/gateways/${gw.id}`)).body.status, 'online');
      assert.deepEqual([...new Set(proxy.connects)], [`127.0.0.1:${relay.port}`]);
      assert.ok(proxy.connects.length >= 2, 'pair and run both went through the proxy');
    } finally {
      await gateway.stop();
      await proxy.close();
    }
  });

  it('NO_PROXY bypasses the proxy', async () => {
    const proxy = await ConnectProxy.start('tunnel');
    try {
      const gw = await createGateway(api, 'dc-bypass');
      const out = await pairCli(relay, join(dir.path, 'bypass'), gw.pairingCode, [], { HTTPS_PROXY: proxy.url, NO_PROXY: '127.0.0.1' });
      assert.equal(out.code, 0, out.stderr);
      assert.deepEqual(proxy.connects, []);
    } finally {
      await proxy.close();
    }
  });

  it('a TLS-intercepting proxy is detected by the CA pin, and nothing is written', async () => {
    const proxy = await ConnectProxy.start('intercept');
    try {
      const gw = await createGateway(api, 'dc-mitm');
      const state = join(dir.path, 'mitm');
      const caFile = join(dir.path, 'corp-ca.pem');
      // Even with the inspection CA trusted system-wide (as corporate machines do), the pin wins.
      writeFileSync(caFile, proxy.caPem);
      const out = await pairCli(relay, state, gw.pairingCode, ['--ca-file', caFile], { ...noProxyEnv, HTTPS_PROXY: proxy.url });
      assert.equal(out.code, 1);
      assert.match(out.stderr, /^PCG_ERR_TLS_INTERCEPTED: the certificate presented for 127\.0\.0\.1 is issued by "O=PCG, CN=Corp Inspection CA", not by the pinned relay CA sha256\//);
      assert.match(out.stderr, /TLS interception detected/);
      assert.equal(existsSync(state), false);
      assert.equal(proxy.connects.length, 1);
      // The code was never presented, so it still pairs directly.
      assert.equal((await pairCli(relay, state, gw.pairingCode)).code, 0);
    } finally {
      await proxy.close();
    }
  });
});
