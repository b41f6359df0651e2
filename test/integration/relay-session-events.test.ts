import { strict as assert } from 'node:assert';
import { join } from 'node:path';
import pino from 'pino';
import { Relay } from '../../saas-relay/relay.js';
import { echo } from '../../saas-relay/tunnel/handlers/echo-handlers.js';
import type { TunnelSession } from '../../saas-relay/tunnel/tunnel-session.js';
import { ApiClient } from '../support/api-client.js';
import { GATEWAY_CLI, runCli } from '../support/child.js';
import { createGateway, runGateway } from '../support/gateway-fixture.js';
import { RawSession } from '../support/raw-session.js';
import { tempDir } from '../support/temp-dir.js';
import { waitFor } from '../support/wait-for.js';

/** The relay's seam for features that act when a gateway connects (job offers) or leaves. */
describe('relay session events (in-process relay, real gateway)', function () {
  this.timeout(30_000);
  const dir = tempDir('session-events');
  let relay: Relay;
  let api: ApiClient;
  let stateDir: string;
  let gatewayId: string;
  const events: Array<[string, string, number]> = [];

  before(async () => {
    relay = await Relay.create({ dataDir: join(dir.path, 'relay'), listen: '127.0.0.1:0', logger: pino({ level: 'silent' }), heartbeatSeconds: 1 });
    relay.hub.onSession({
      opened: (s: TunnelSession) => events.push(['opened', s.gatewayId, s.epoch]),
      closed: (s: TunnelSession) => events.push(['closed', s.gatewayId, s.epoch]),
    });
    const tenant = await relay.tenancy.createTenant('events');
    api = new ApiClient(relay.url, relay.pki.ca.certPem, tenant.apiKey);
    const gw = await createGateway(api, 'dc-events');
    gatewayId = gw.id;
    stateDir = join(dir.path, 'gw');
    const paired = await runCli(GATEWAY_CLI, ['pair', '--state-dir', stateDir, '--relay', relay.url, '--code', gw.pairingCode, '--ca-pin', relay.pki.caPin]);
    assert.equal(paired.code, 0, paired.stderr);
  });
  after(async () => {
    await relay.close();
    dir.remove();
  });

  it('tells listeners when a session opens and closes, with the session and its epoch', async () => {
    const raw = await RawSession.open(stateDir);
    const epoch = raw.session.welcome.epoch;
    await waitFor('opened', () => events.length === 1);
    assert.deepEqual(events, [['opened', gatewayId, epoch]]);
    raw.close();
    await waitFor('closed', () => events.length === 2);
    assert.deepEqual(events[1], ['closed', gatewayId, epoch]);
    assert.equal(relay.hub.session(gatewayId), undefined);
  });

  it('a request through a real gateway: echo answered; pending requests fail with GATEWAY_OFFLINE when the tunnel closes', async () => {
    const gateway = runGateway(stateDir);
    try {
      const session = await waitFor('session', () => relay.hub.session(gatewayId));
      assert.equal(await echo(session, 'ping'), 'ping');
      gateway.proc.kill('SIGSTOP');
      const pending = echo(session, 'lost', 20_000);
      session.close('normal');
      await assert.rejects(pending, (err: unknown) => (err as { code?: string }).code === 'PCG_ERR_GATEWAY_OFFLINE');
      assert.equal(session.requests.size, 0);
    } finally {
      gateway.proc.kill('SIGCONT');
      await gateway.stop();
    }
  });
});
