import { strict as assert } from 'node:assert';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import { systemClock } from '../../proto/clock.js';
import { PcgError } from '../../proto/errors.js';
import { loadGatewayConfig } from '../../gateway/config/gateway-config.js';
import { GatewayDaemon } from '../../gateway/daemon/gateway-daemon.js';
import { readStatus } from '../../gateway/status/status-file.js';
import { ApiClient } from '../support/api-client.js';
import { createGateway, pairCli } from '../support/gateway-fixture.js';
import { RelayProcess } from '../support/relay-fixture.js';
import { tempDir } from '../support/temp-dir.js';
import { waitFor } from '../support/wait-for.js';

const log = pino({ level: 'silent' });

/** The gateway's composition root, in-process: one create, one close path. */
describe('GatewayDaemon', function () {
  this.timeout(30_000);
  const dir = tempDir('daemon');
  let relay: RelayProcess;
  let api: ApiClient;

  before(async () => {
    relay = await RelayProcess.start({ args: ['--heartbeat', '500ms'] });
    api = new ApiClient(relay.url, relay.caCert, (await relay.createTenant('daemon')).apiKey);
  });
  after(async () => {
    await relay.stop();
    dir.remove();
  });

  it('refuses an unpaired state dir with PCG_ERR_NOT_PAIRED and writes nothing there', async () => {
    const state = join(dir.path, 'empty');
    const config = loadGatewayConfig([`--state-dir=${state}`, '--https-port=0', '--https-host=127.0.0.1'], {});
    await assert.rejects(GatewayDaemon.create(config, { clock: systemClock, log, proxy: {} }), (err: unknown) => err instanceof PcgError && err.code === 'PCG_ERR_NOT_PAIRED');
    assert.equal(existsSync(state), false);
  });

  it('runs the tunnel until close(); close is idempotent and leaves status "stopped" without a reason', async () => {
    const gw = await createGateway(api, 'dc-daemon');
    const state = join(dir.path, 'gw');
    assert.equal((await pairCli(relay, state, gw.pairingCode)).code, 0);
    const daemon = (await GatewayDaemon.create(loadGatewayConfig([`--state-dir=${state}`, '--https-port=0', '--https-host=127.0.0.1'], {}), { clock: systemClock, log, proxy: {} })).start();
    assert.equal(daemon.state, 'running');
    await waitFor('online at the relay', async () => (await api.get<{ status: string }>(`/v1/gateways/${gw.id}`)).body.status === 'online');
    await waitFor('status online', async () => (await readStatus(state))?.state === 'online');
    await Promise.all([daemon.close(), daemon.close()]);
    await daemon.close();
    assert.equal(daemon.state, 'closed');
    await daemon.done;
    const status = await readStatus(state);
    assert.deepEqual([status?.state, status?.reason], ['stopped', null]);
    assert.equal(daemon.stopReason, undefined);
    assert.deepEqual(readdirSync(state).filter((f) => f.includes('.tmp')), [], 'no temp files left behind');
    await waitFor('offline at the relay', async () => (await api.get<{ status: string }>(`/v1/gateways/${gw.id}`)).body.status === 'offline');
  });
});
