/**
 * `make demo`: the main job end to end on the embedded default. A relay (SQLite) and a gateway
 * as real processes; a tenant, a gateway and a one-time pairing code from the REST API; pairing
 * with code and CA pin; the tunnel up; status from both sides. Set PCG_DEMO_KEEP=1 to leave both
 * running (Ctrl-C stops them).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ApiClient } from '../support/api-client.js';
import { GATEWAY_CLI, runCli } from '../support/child.js';
import { createGateway, gatewayStatusJson, pairCli, runGateway } from '../support/gateway-fixture.js';
import { RelayProcess } from '../support/relay-fixture.js';
import { tempDir } from '../support/temp-dir.js';
import { Vcsim } from '../support/vcsim-fixture.js';
import { waitFor } from '../support/wait-for.js';

const step = (n: number, text: string): void => void process.stdout.write(`\n[${n}/7] ${text}\n`);
const show = (value: unknown): void => void process.stdout.write(`${JSON.stringify(value, null, 2).replace(/^/gm, '      ')}\n`);

async function main(): Promise<void> {
  const dir = tempDir('demo');
  step(1, 'starting vcsim (govmomi simulator, own certificate, one user) and pcg-relay (SQLite, self-signed CA)');
  const vcsim = await Vcsim.start({ dc: 1, cluster: 2, clusterHost: 3, vm: 4, ds: 2, pg: 2, template: 2 });
  const passwordFile = join(dir.path, 'vcenter-password');
  writeFileSync(passwordFile, vcsim.password, { mode: 0o600 });
  process.stdout.write(`      vcsim ${vcsim.url} thumbprint ${vcsim.thumbprint.slice(0, 23)}…\n`);
  const relay = await RelayProcess.start({ dataDir: join(dir.path, 'relay'), args: ['--heartbeat', '2s'] });
  process.stdout.write(`      relay ${relay.url}\n      CA pin ${relay.caPin}\n`);
  const tenant = await relay.createTenant('demo-tenant');
  const api = new ApiClient(relay.url, relay.caCert, tenant.apiKey);
  process.stdout.write(`      tenant ${tenant.tenantId}, default project ${tenant.projectId}\n`);

  step(2, 'portal: POST /v1/gateways -> one-time pairing code + CA pin');
  const gw = await createGateway(api, 'datacenter-1');
  show({ id: gw.id, pairingCode: `${gw.pairingCode.slice(0, 4)}-****-****-****`, caPin: gw.caPin, expiresAt: gw.expiresAt });

  step(3, 'installer: pcg-gateway pair --code … --ca-pin …');
  const stateDir = join(dir.path, 'gateway');
  const paired = await pairCli(relay, stateDir, gw.pairingCode);
  if (paired.code !== 0) throw new Error(paired.stderr);
  show(JSON.parse(paired.stdout));

  step(4, 'pcg-gateway run --vcenter-…: outbound tunnel, sealed frames, heartbeats, vCenter connection');
  const gateway = runGateway(stateDir, ['--vcenter-host', vcsim.host, '--vcenter-user', vcsim.user, '--vcenter-password-file', passwordFile, '--vcenter-thumbprint', vcsim.thumbprint]);
  // Both sides, and the vCenter facts the gateway reports after its welcome, before anything is shown:
  // the relay's view and the gateway's own status then tell the same story.
  await waitFor('gateway online', async () => (await api.get<{ status: string }>(`/v1/gateways/${gw.id}`)).body.status === 'online', 20_000);
  await waitFor('gateway status online', async () => (await gatewayStatusJson(stateDir)).tunnel === 'online', 20_000);
  const [account] = (await waitFor('vCenter metadata on the cloud account', async () => {
    const accounts = (await api.get<Array<{ id: string; metadata: { vcenter: unknown } }>>('/v1/cloudaccounts')).body;
    return accounts[0]?.metadata.vcenter ? accounts : undefined;
  }, 20_000));

  step(5, 'status from the relay (GET /v1/gateways/:id, /v1/cloudaccounts) and from the gateway');
  show((await api.get(`/v1/gateways/${gw.id}`)).body);
  show((await api.get('/v1/cloudaccounts')).body);
  process.stdout.write((await runCli(GATEWAY_CLI, ['status', '--state-dir', stateDir])).stdout.replace(/^/gm, '      '));

  step(6, 'live inventory through the tunnel: GET /v1/cloudaccounts/:id/inventory?kind=…');
  for (const kind of ['datacenter', 'cluster', 'host', 'resourcepool', 'datastore', 'network', 'template', 'folder']) {
    const res = await api.get<{ items: Array<{ name: string; path: string }> }>(`/v1/cloudaccounts/${account!.id}/inventory?kind=${kind}`);
    process.stdout.write(`      ${kind.padEnd(13)} ${String(res.body.items.length).padStart(3)}  ${res.body.items.slice(0, 3).map((i) => i.path).join(', ')}${res.body.items.length > 3 ? ', …' : ''}\n`);
  }

  step(7, 'where to look');
  process.stdout.write([
    `      relay data dir:    ${relay.dataDir} (relay.db, ca.crt, keys 0600)`,
    `      gateway state dir: ${stateDir} (identity.json, sign.key, client.crt, status.json)`,
    `      OpenAPI:           ${relay.url}/docs/json`,
    process.env.PCG_DEMO_KEEP === '1'
      ? `      try it:            curl --cacert ${relay.dataDir}/ca.crt -H 'authorization: Bearer ${tenant.apiKey}' ${relay.url}/v1/gateways`
      : '      (both dirs are removed at the end; run with PCG_DEMO_KEEP=1 to keep everything running)',
    '      the vCenter password stays on the gateway: the relay keeps host, thumbprint, version and datacenters only.',
    '      cluster create/delete jobs arrive with the jobs issue; this demo shows pairing, the tunnel and inventory.',
    '',
  ].join('\n'));
  if (process.env.PCG_DEMO_KEEP === '1') {
    process.stdout.write('      PCG_DEMO_KEEP=1: relay and gateway keep running; Ctrl-C stops them.\n');
    await new Promise<void>((resolve) => process.once('SIGINT', resolve));
  }
  await gateway.stop();
  await relay.stop();
  await vcsim.stop();
  dir.remove();
  process.stdout.write('\ndemo finished: relay and gateway stopped, temp dirs removed.\n');
}

main().catch((err: unknown) => {
  process.stderr.write(`demo failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
