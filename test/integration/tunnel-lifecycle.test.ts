import { strict as assert } from 'node:assert';
import { X509Certificate } from 'node:crypto';
import { cpSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ApiClient } from '../support/api-client.js';
import { gatewayStatusJson } from '../support/gateway-fixture.js';
import { RelayProcess } from '../support/relay-fixture.js';
import { GatewayLab, type GatewayView } from '../support/gateway-lab.js';
import { tempDir } from '../support/temp-dir.js';
import { sleep, waitFor } from '../support/wait-for.js';


describe('tunnel lifecycle (real relay and gateway processes)', function () {
  this.timeout(60_000);
  let relay: RelayProcess;
  let api: ApiClient;
  const lab = new GatewayLab(() => relay, () => api);

  before(async () => {
    relay = await RelayProcess.start({ args: ['--heartbeat', '500ms'] });
    api = new ApiClient(relay.url, relay.caCert, (await relay.createTenant('acme')).apiKey);
  });
  afterEach(() => lab.cleanup());
  after(() => relay.stop());

  it('a newer session of the same gateway supersedes the older one at once', async () => {
    const { id, dir } = await lab.pair('dc-supersede');
    const first = lab.run(dir);
    await lab.online(id);
    const epochBefore = (await lab.view(id)).sessionEpoch;
    const copy = tempDir('gw-copy');
    lab.onCleanup(copy.remove);
    // A running gateway's state dir: its status.json is rewritten (temp file, rename) while we copy.
    cpSync(dir, copy.path, { recursive: true, filter: (src) => !src.includes('.tmp-') });
    const second = lab.run(copy.path);
    assert.equal(await first.exited, 1);
    assert.match(first.stderr, /^PCG_ERR_SESSION_SUPERSEDED: /m);
    assert.equal(second.exitCode, null);
    const after = await waitFor('second session recorded', async () => {
      const v = await lab.view(id);
      return v.status === 'online' && v.sessionEpoch > epochBefore ? v : undefined;
    });
    assert.equal(after.sessionEpoch, epochBefore + 1);
    assert.equal((await gatewayStatusJson(copy.path)).tunnel, 'online');
    const superseded = await gatewayStatusJson(dir);
    assert.equal(superseded.tunnel, 'stopped', 'the superseded process stopped for good');
    assert.equal((superseded.reason as { code: string }).code, 'PCG_ERR_SESSION_SUPERSEDED');
  });

  it('revocation closes the tunnel within a second and refuses it afterwards', async () => {
    const { id, dir } = await lab.pair('dc-revoke');
    const gateway = lab.run(dir);
    await lab.online(id);
    const res = await api.delete<GatewayView>(`/v1/gateways/${id}`);
    const revokedAt = Date.now();
    assert.equal(res.status, 200);
    assert.equal(res.body.status, 'revoked');
    assert.equal(await gateway.exited, 1);
    assert.ok(Date.now() - revokedAt < 1000, `closed after ${Date.now() - revokedAt} ms`);
    assert.match(gateway.stderr, /^PCG_ERR_GATEWAY_REVOKED: /m);
    const revoked = await gatewayStatusJson(dir);
    assert.equal(revoked.tunnel, 'stopped');
    assert.equal((revoked.reason as { code: string }).code, 'PCG_ERR_GATEWAY_REVOKED');
    const again = lab.run(dir);
    assert.equal(await again.exited, 1);
    assert.match(again.stderr, /^PCG_ERR_GATEWAY_REVOKED: /m);
    assert.equal((await api.post(`/v1/gateways/${id}/pairing-code`)).status, 409);
  });

  it('after kill -9 of the relay, the gateway comes back online by itself', async () => {
    const own = await RelayProcess.start({ args: ['--heartbeat', '500ms'] });
    lab.onCleanup(() => own.stop());
    const client = new ApiClient(own.url, own.caCert, (await own.createTenant('crash')).apiKey);
    const { id, dir } = await lab.pair('dc-crash', own, client);
    lab.run(dir);
    await lab.online(id, client);
    const epoch = (await lab.view(id, client)).sessionEpoch;
    await own.child.kill9();
    await waitFor('gateway notices', async () => (await gatewayStatusJson(dir)).tunnel !== 'online');
    const restarted = await own.restart();
    lab.onCleanup(() => restarted.stop());
    await waitFor('back online', async () => (await gatewayStatusJson(dir)).tunnel === 'online', 15_000);
    await lab.online(id, client);
    assert.ok((await lab.view(id, client)).sessionEpoch > epoch);
  });

  it('an unreachable relay: offline with the reason, retries with backoff, never spins', async () => {
    const own = await RelayProcess.start();
    const client = new ApiClient(own.url, own.caCert, (await own.createTenant('down')).apiKey);
    const { id, dir } = await lab.pair('dc-down', own, client);
    await own.stop();
    const gateway = lab.run(dir);
    // The window starts at the first attempt, not at spawn: a loaded machine may take seconds to start node.
    const attempts = () => gateway.logLines.filter((l) => l.msg === 'relay not reachable; retrying');
    await waitFor('a first attempt', () => Promise.resolve(attempts().length > 0), 20_000);
    const first = attempts().length;
    await sleep(3000);
    const retries = attempts();
    // Backoff ceilings 200 ms doubling to 1 s (FAST_BACKOFF): at least 2 more in 3 s, and no spinning.
    assert.ok(retries.length - first >= 2 && retries.length - first <= 15, `${retries.length - first} attempts in 3 s`);
    assert.ok(retries.every((l) => l.code === 'PCG_ERR_RELAY_UNREACHABLE'));
    const status = await gatewayStatusJson(dir);
    assert.ok(['backoff', 'connecting'].includes(status.tunnel as string));
    assert.equal(status.lastError, 'PCG_ERR_RELAY_UNREACHABLE');
    const back = await own.restart();
    lab.onCleanup(() => back.stop());
    await lab.online(id, client);
  });

  it('a frozen gateway is marked offline after three heartbeats and recovers when it thaws', async () => {
    const { id, dir } = await lab.pair('dc-frozen');
    const gateway = lab.run(dir);
    await lab.online(id);
    gateway.proc.kill('SIGSTOP');
    try {
      await waitFor('offline while frozen', async () => (await lab.view(id)).status === 'offline', 10_000);
    } finally {
      gateway.proc.kill('SIGCONT');
    }
    await lab.online(id);
    assert.equal(gateway.exitCode, null);
  });

  it('renews its client certificate over the tunnel at 2/3 of its life', async () => {
    const own = await RelayProcess.start({ args: ['--heartbeat', '500ms', '--cert-lifetime', '6s'] });
    lab.onCleanup(() => own.stop());
    const client = new ApiClient(own.url, own.caCert, (await own.createTenant('renew')).apiKey);
    const { id, dir } = await lab.pair('dc-renew', own, client);
    const serial = (): string => new X509Certificate(readFileSync(join(dir, 'client.crt'))).serialNumber;
    const first = serial();
    const firstExpiry = (await lab.view(id, client)).certExpiresAt;
    lab.run(dir);
    await waitFor('a new certificate on disk', () => serial() !== first, 15_000);
    const renewed = new X509Certificate(readFileSync(join(dir, 'client.crt')));
    assert.equal(renewed.subject.split('\n').find((l) => l.startsWith('CN=')), `CN=${id}`);
    assert.ok(renewed.checkIssued(new X509Certificate(own.caCert)));
    await waitFor('relay records the new expiry', async () => (await lab.view(id, client)).certExpiresAt > firstExpiry);
  });
});
