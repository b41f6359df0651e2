import { strict as assert } from 'node:assert';
import { readFileSync, statSync } from 'node:fs';
import { request } from 'node:https';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { systemClock } from '../../proto/clock.js';
import { loadGatewayConfig } from '../../gateway/config/gateway-config.js';
import { GatewayDaemon } from '../../gateway/daemon/gateway-daemon.js';
import { failpointHook } from '../../gateway/jobs/failpoint.js';
import { NodeTokens } from '../../gateway/nodes/node-tokens.js';
import { gatewayStatus } from '../../gateway/status/gateway-status.js';
import { readStatus } from '../../gateway/status/status-file.js';
import { waitFor } from '../support/wait-for.js';
import { ApiClient } from '../support/api-client.js';
import { createGateway, pairCli } from '../support/gateway-fixture.js';
import { CLUSTER_A, silentLog as log } from '../support/job-fixtures.js';
import { RelayProcess } from '../support/relay-fixture.js';
import { tempDir } from '../support/temp-dir.js';

function postReady(url: string, ca: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', ca, headers: { 'content-type': 'application/x-www-form-urlencoded' } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end('instance_id=i-1&hostname=cp-0');
  });
}

/** The daemon's job engine parts: journal, HTTPS server, runner, opened and closed as one. */
describe('GatewayDaemon with its HTTPS server and job journal', function () {
  this.timeout(60_000);
  const dir = tempDir('daemon-https');
  let relay: RelayProcess;
  let state: string;

  before(async () => {
    relay = await RelayProcess.start({ args: ['--heartbeat', '500ms'] });
    const api = new ApiClient(relay.url, relay.caCert, (await relay.createTenant('daemon-https')).apiKey);
    const gw = await createGateway(api, 'dc-https');
    state = join(dir.path, 'gw');
    assert.equal((await pairCli(relay, state, gw.pairingCode)).code, 0);
  });
  after(async () => {
    await relay.stop();
    dir.remove();
  });

  it('serves node phone-home on https.port 0 with a token derived from the state dir key; journal.db is 0600; close is one idempotent path', async () => {
    const config = loadGatewayConfig([`--state-dir=${state}`, '--https-host=127.0.0.1', '--https-port=0'], {});
    const daemon = (await GatewayDaemon.create(config, { clock: systemClock, log, proxy: {} })).start();
    try {
      assert.match(daemon.httpsUrl, /^https:\/\/127\.0\.0\.1:\d+$/);
      assert.equal(statSync(join(state, 'journal.db')).mode & 0o777, 0o600);
      assert.deepEqual(daemon.jobs, { running: 0, queued: 0 });
      const token = (await NodeTokens.load(state)).tokenFor(CLUSTER_A, 'cp-0');
      const ca = readFileSync(join(state, 'gateway-ca.crt'), 'utf8');
      assert.equal(await postReady(`${daemon.httpsUrl}/v1/nodes/ready?token=${token}`, ca), 200);
      assert.equal(await postReady(`${daemon.httpsUrl}/v1/nodes/ready?token=${token}x`, ca), 401);
      await waitFor('status online', async () => (await readStatus(state))?.state === 'online');
      assert.deepEqual((await gatewayStatus(state)).jobs, { running: 0, queued: 0 });
    } finally {
      await Promise.all([daemon.close(), daemon.close()]);
    }
    assert.equal(daemon.state, 'closed');
    assert.equal((await gatewayStatus(state)).jobs, null, 'not running: no job counts');
    await assert.rejects(postReady(`${daemon.httpsUrl}/v1/nodes/ready`, ''), /ECONNREFUSED/);
  });

  it('a start that fails at the HTTPS port closes what it opened, and the next start works', async () => {
    const blocker: Server = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as { port: number }).port;
    try {
      const busy = loadGatewayConfig([`--state-dir=${state}`, '--https-host=127.0.0.1', `--https-port=${port}`], {});
      await assert.rejects(GatewayDaemon.create(busy, { clock: systemClock, log, proxy: {} }), /EADDRINUSE/);
    } finally {
      blocker.close();
    }
    const daemon = await GatewayDaemon.create(loadGatewayConfig([`--state-dir=${state}`, '--https-host=127.0.0.1', '--https-port=0'], {}), { clock: systemClock, log, proxy: {} });
    await daemon.close();
    assert.equal(daemon.state, 'closed');
  });

  it('PCG_FAILPOINT kills the process with SIGKILL at exactly the named checkpoint', () => {
    const kills: Array<[number, string]> = [];
    const hook = failpointHook('clone.issued', (pid, signal) => kills.push([pid, signal]));
    hook('clone.intent');
    hook('clone.issued');
    assert.deepEqual(kills, [[process.pid, 'SIGKILL']]);
    const off = failpointHook(undefined, () => assert.fail('no failpoint set'));
    off('clone.issued');
  });
});
