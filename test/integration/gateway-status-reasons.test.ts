import { strict as assert } from 'node:assert';
import { cpSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readStatus } from '../../gateway/status/status-file.js';
import { ApiClient } from '../support/api-client.js';
import { Child, GATEWAY_CLI, runCli } from '../support/child.js';
import { gatewayStatusJson } from '../support/gateway-fixture.js';
import { RelayProcess } from '../support/relay-fixture.js';
import { GatewayLab } from '../support/gateway-lab.js';
import { tempDir } from '../support/temp-dir.js';
import { waitFor } from '../support/wait-for.js';

interface StatusJson { tunnel: string; reason: { code: string; message: string } | null; lastHeartbeatAt: string | null; lastError: string | null; since: string | null }

const ISO = '\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z';

async function statusJson(dir: string): Promise<StatusJson> {
  return (await gatewayStatusJson(dir)) as unknown as StatusJson;
}

/** `pcg-gateway status` as a person reads it. */
async function statusText(dir: string): Promise<string> {
  const out = await runCli(GATEWAY_CLI, ['status', '--state-dir', dir]);
  assert.equal(out.code, 0, out.stderr);
  return out.stdout;
}

describe('gateway status: why the tunnel stopped (real relay and gateway processes)', function () {
  this.timeout(60_000);
  let relay: RelayProcess;
  let api: ApiClient;
  const lab = new GatewayLab(() => relay, () => api);

  before(async () => {
    relay = await RelayProcess.start({ args: ['--heartbeat', '500ms'] });
    api = new ApiClient(relay.url, relay.caCert, (await relay.createTenant('status')).apiKey);
  });
  afterEach(() => lab.cleanup());
  after(() => relay.stop());

  it('a superseded process: status shows stopped with PCG_ERR_SESSION_SUPERSEDED, as JSON and as text', async () => {
    const { id, dir } = await lab.pair('dc-superseded');
    const first = lab.run(dir);
    await lab.online(id);
    const copy = tempDir('gw-status-copy');
    lab.onCleanup(copy.remove);
    // A running gateway's state dir: its status.json is rewritten (temp file, rename) while we copy.
    cpSync(dir, copy.path, { recursive: true, filter: (src) => !src.includes('.tmp-') });
    lab.run(copy.path);
    assert.equal(await first.exited, 1);
    assert.match(first.stderr, /^PCG_ERR_SESSION_SUPERSEDED: /m);

    const status = await statusJson(dir);
    assert.equal(status.tunnel, 'stopped');
    assert.deepEqual(status.reason, {
      code: 'PCG_ERR_SESSION_SUPERSEDED',
      message: 'the relay closed the tunnel (4009). A newer session of the same gateway took over; stop the duplicate gateway process.',
    });
    assert.equal(status.lastError, 'PCG_ERR_SESSION_SUPERSEDED');
    const text = await statusText(dir);
    assert.match(text, new RegExp(`^tunnel: {10}stopped \\(PCG_ERR_SESSION_SUPERSEDED\\) since ${ISO}$`, 'm'));
    assert.match(text, /^reason: {10}the relay closed the tunnel \(4009\)\. A newer session of the same gateway took over; stop the duplicate gateway process\.$/m);
  });

  it('a gateway the relay does not know: exits 1 with PCG_ERR_GATEWAY_UNKNOWN and status says so (not revoked)', async () => {
    const data = tempDir('relay-unknown');
    lab.onCleanup(data.remove);
    const first = await RelayProcess.start({ dataDir: data.path });
    let own: RelayProcess = first;
    lab.onCleanup(() => own.stop());
    const client = new ApiClient(first.url, first.caCert, (await first.createTenant('forgetful')).apiKey);
    const { id, dir } = await lab.pair('dc-unknown', first, client);
    await first.stop();
    const store = readdirSync(data.path).filter((name) => name.startsWith('relay.db'));
    assert.ok(store.includes('relay.db'), `store files: ${store.join(', ')}`);
    for (const name of store) rmSync(join(data.path, name));
    assert.ok(readdirSync(data.path).includes('ca.key') && readdirSync(data.path).includes('relay-sign.key'), 'keys and CA are kept');
    own = await RelayProcess.start({ dataDir: data.path, port: first.port });
    assert.equal(own.url, first.url, 'same address as the relay the gateway paired with');
    assert.equal(own.caPin, first.caPin, 'same CA');

    const gateway = lab.run(dir);
    assert.equal(await gateway.exited, 1);
    assert.match(gateway.stderr, new RegExp(`^PCG_ERR_GATEWAY_UNKNOWN: gateway ${id} is not paired with this relay\\. `, 'm'));
    const status = await statusJson(dir);
    assert.equal(status.tunnel, 'stopped');
    assert.deepEqual(status.reason, {
      code: 'PCG_ERR_GATEWAY_UNKNOWN',
      message: `gateway ${id} is not paired with this relay. The relay does not know this gateway; pair it again with a new code.`,
    });
    assert.equal(status.lastError, 'PCG_ERR_GATEWAY_UNKNOWN');
    assert.match(await statusText(dir), new RegExp(`^tunnel: {10}stopped \\(PCG_ERR_GATEWAY_UNKNOWN\\) since ${ISO}$`, 'm'));
  });

  it('after a plain SIGTERM: exit 0, tunnel stopped, reason null', async () => {
    const { id, dir } = await lab.pair('dc-sigterm');
    const gateway = lab.run(dir);
    await waitFor('online', async () => (await statusJson(dir)).tunnel === 'online');
    await gateway.stop();
    assert.equal(gateway.exitCode, 0, gateway.stderr);
    assert.equal(gateway.stderr, '');
    const record = await readStatus(dir);
    assert.equal(record?.state, 'stopped', 'the last record on disk is the stop itself');
    assert.equal(record?.reason, null);
    const status = await statusJson(dir);
    assert.equal(status.tunnel, 'stopped');
    assert.equal(status.reason, null);
    const text = await statusText(dir);
    assert.match(text, /^tunnel: {10}stopped \(not running\)$/m);
    assert.doesNotMatch(text, /^reason:/m);
    await waitFor('the relay to see it go', async () => (await lab.view(id)).status === 'offline');
    // A status.json written by the previous version (no `reason`, old state names) by a process that
    // is gone, as after an upgrade: read as stopped, not as what it claims.
    const gone = Child.node('-e', []);
    await gone.exited;
    for (const state of ['online', 'revoked', 'offline']) {
      writeFileSync(join(dir, 'status.json'), JSON.stringify({ pid: gone.proc.pid, state, since: 1, lastHeartbeatAt: null, epoch: 3, certExpiresAt: null, lastError: null, updatedAt: 1 }));
      const old = await statusJson(dir);
      assert.deepEqual([old.tunnel, old.reason, old.since], ['stopped', null, null], state);
    }
  });

  it('the moment the tunnel is online, both sides show a heartbeat and the relay the gateway\'s version', async () => {
    // A slow heartbeat: what both sides show comes from the session's start, not from a later beat.
    const own = await RelayProcess.start({ args: ['--heartbeat', '30s'] });
    lab.onCleanup(() => own.stop());
    const client = new ApiClient(own.url, own.caCert, (await own.createTenant('moment')).apiKey);
    const { id, dir } = await lab.pair('dc-moment', own, client);
    const before = await lab.view(id, client);
    assert.equal(before.status, 'offline');
    assert.equal(before.lastHeartbeatAt, null);
    lab.run(dir);
    const gatewaySide = await waitFor('the gateway online', async () => {
      const s = await statusJson(dir);
      return s.tunnel === 'online' ? s : undefined;
    }, 15_000, 10);
    const relaySide = await lab.view(id, client);
    assert.notEqual(gatewaySide.lastHeartbeatAt, null, 'the gateway shows a heartbeat once online');
    assert.equal(relaySide.status, 'online');
    assert.notEqual(relaySide.lastHeartbeatAt, null, 'the relay shows a heartbeat once the gateway is online');
    assert.match(relaySide.version ?? '', /^pcg-gateway\/\d+\.\d+\.\d+/);
    const skew = Math.abs(Date.parse(gatewaySide.lastHeartbeatAt!) - Date.parse(relaySide.lastHeartbeatAt!));
    assert.ok(skew < 1000, `the two sides disagree by ${skew} ms on the first sign of life`);
    assert.doesNotMatch(await statusText(dir), /^last heartbeat: +never$/m);
  });
});
