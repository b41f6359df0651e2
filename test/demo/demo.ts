/**
 * `make demo`: the main job end to end on the embedded default. A relay (SQLite) and a gateway
 * as real processes; a tenant, a gateway and a one-time pairing code from the REST API; pairing
 * with code and CA pin; the tunnel up; status from both sides; live inventory; then a 3-node
 * cluster (1 control plane, 2 workers) built on vcsim with its events streamed live, its VMs
 * counted, and deleted. vcsim VMs do not boot: cloud-init nodes (cloud-init's own code) play them.
 * Set PCG_DEMO_KEEP=1 to leave everything running (Ctrl-C stops it).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ApiClient } from '../support/api-client.js';
import { CloudInitNode } from '../support/cloud-init-node.js';
import { streamEvents } from '../support/event-stream.js';
import { GATEWAY_CLI, runCli } from '../support/child.js';
import { createGateway, gatewayStatusJson, pairCli, runGateway } from '../support/gateway-fixture.js';
import { importPublicPacks } from '../support/public-packs.js';
import { RelayProcess, freePort } from '../support/relay-fixture.js';
import { tempDir } from '../support/temp-dir.js';
import { Vcsim } from '../support/vcsim-fixture.js';
import { vmCensus } from '../support/vm-census.js';
import { waitFor } from '../support/wait-for.js';

const step = (n: number, text: string): void => void process.stdout.write(`\n[${n}/10] ${text}\n`);
const show = (value: unknown): void => void process.stdout.write(`${JSON.stringify(value, null, 2).replace(/^/gm, '      ')}\n`);

async function main(): Promise<void> {
  const dir = tempDir('demo');
  step(1, 'starting vcsim (govmomi simulator, own certificate, one user), seeding the public pack registry, and pcg-relay (SQLite, self-signed CA)');
  const vcsim = await Vcsim.start({ dc: 1, cluster: 2, clusterHost: 3, vm: 4, ds: 2, pg: 2, template: 2 });
  const passwordFile = join(dir.path, 'vcenter-password');
  writeFileSync(passwordFile, vcsim.password, { mode: 0o600 });
  process.stdout.write(`      vcsim ${vcsim.url} thumbprint ${vcsim.thumbprint.slice(0, 23)}…\n`);
  // The public registry is seeded offline, before the relay that owns it starts.
  for (const pack of await importPublicPacks(join(dir.path, 'relay'))) process.stdout.write(`      pcg-relay packs import: ${pack.name}:${pack.version} ${pack.digest.slice(0, 19)}…\n`);
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
  const gateway = runGateway(stateDir, ['--vcenter-host', vcsim.host, '--vcenter-user', vcsim.user, '--vcenter-password-file', passwordFile, '--vcenter-thumbprint', vcsim.thumbprint,
    '--https-host', '127.0.0.1', '--https-port', String(await freePort())]);
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

  step(7, 'cluster profile (os, k8s, cni, csi: public packs, checked against the registry) and a static IP pool on the cloud account');
  const listed = await api.get<{ items: Array<{ name: string; version: string; layer: string; source: string }> }>('/v1/packs?source=public');
  process.stdout.write(`      GET /v1/packs?source=public: ${listed.body.items.map((p) => `${p.layer} ${p.name}:${p.version}`).join(', ')}\n`);
  const templates = await api.get<{ items: Array<{ name: string }> }>(`/v1/cloudaccounts/${account!.id}/inventory?kind=template`);
  const layer = (kind: string, name: string, version: string, values = '') => ({ layer: kind, registry: 'public', name, version, values });
  const profile = await api.post<{ id: string; name: string }>(`/v1/projects/${tenant.projectId}/profiles`, {
    name: 'ubuntu-k8s', description: 'Ubuntu 22.04, Kubernetes 1.30, Calico, vSphere CSI',
    layers: [{ ...layer('os', 'ubuntu', '22.4.0', 'timezone: UTC\n'), template: templates.body.items[0]!.name }, layer('k8s', 'kubernetes', '1.30.2', 'podCIDR: 192.168.0.0/16\n'),
      layer('cni', 'calico', '3.27.0', 'mtu: 1450\n'), layer('csi', 'vsphere-csi', '3.1.0')],
  });
  // 192.0.2.0/24 is TEST-NET-1: addresses for the simulated guests, never dialled.
  const pool = await api.post<{ id: string; size: number }>(`/v1/cloudaccounts/${account!.id}/ippools`, {
    name: 'nodes', range: { start: '192.0.2.10', end: '192.0.2.20' }, prefix: 24, gateway: '192.0.2.1', dns: ['192.0.2.53'], searchDomains: ['demo.test'],
  });
  if (profile.status !== 201 || pool.status !== 201) throw new Error(`profile ${JSON.stringify(profile.body)} pool ${JSON.stringify(pool.body)}`);
  process.stdout.write(`      profile ${profile.body.id} (template ${templates.body.items[0]!.name}), pool ${pool.body.id} (${pool.body.size} addresses)\n`);

  step(8, 'POST /v1/projects/:id/clusters (1 control plane + 2 workers): relay queues the job, gateway clones on vcsim, nodes phone home');
  const nodes = await CloudInitNode.start({ vcenter: vcsim.connection(), pollMs: 100, secBetweenTries: 1 });
  const size = { cpus: 2, memoryMiB: 4096, diskGiB: 40 };
  const created = await api.post<{ id: string }>(`/v1/projects/${tenant.projectId}/clusters`, {
    name: 'demo', profileId: profile.body.id, cloudAccountId: account!.id,
    placement: { datacenter: 'DC0', folder: 'vm', computeResource: 'DC0_C0', datastore: 'LocalDS_0', network: 'VM Network' },
    nodePools: { controlPlane: { count: 1, ...size }, workers: { count: 2, ...size } }, addressing: { mode: 'static', poolId: pool.body.id },
  });
  if (created.status !== 201) throw new Error(`create cluster: ${JSON.stringify(created.body)}`);
  const clusterId = created.body.id;
  // The portal's live view: server-sent events, printed as they arrive.
  const events = streamEvents(relay.url, relay.caCert, tenant.apiKey, clusterId, (e) =>
    process.stdout.write(`      ${e.at.slice(11, 23)} ${e.level.padEnd(5)} ${e.step.padEnd(9)} ${(e.node ?? '').padEnd(9)} ${e.message}\n`));
  const running = await waitFor('cluster running', async () => {
    const c = (await api.get<{ state: string; nodes: Array<{ name: string; ip: string; vm: string; ready: boolean }> }>(`/v1/clusters/${clusterId}`)).body;
    if (c.state === 'failed') throw new Error('cluster failed; see the events above');
    return c.state === 'running' ? c : undefined;
  }, 120_000, 200);
  await new Promise((r) => setTimeout(r, 300));
  process.stdout.write(`      cluster ${clusterId} running: ${running.nodes.map((n) => `${n.name}=${n.ip} (${n.vm}${n.ready ? ', ready' : ''})`).join(', ')}\n`);
  const vmsOf = async () => (await vmCensus(vcsim)).filter((vm) => vm.name.startsWith('demo-'));
  process.stdout.write(`      vcsim, by its own query: ${(await vmsOf()).map((vm) => `${vm.name} ${vm.powerState}`).join(', ')}\n`);

  step(9, 'DELETE /v1/clusters/:id: VMs powered off and destroyed, folder removed, addresses released');
  await api.delete(`/v1/clusters/${clusterId}`);
  await waitFor('cluster deleted', async () => (await api.get<{ state: string }>(`/v1/clusters/${clusterId}`)).body.state === 'deleted', 60_000, 200);
  await events.done;
  const left = await vmsOf();
  const freed = (await api.get<{ allocated: number }>(`/v1/ippools/${pool.body.id}`)).body;
  process.stdout.write(`      VMs of the cluster left in vcsim: ${left.length}; addresses still allocated: ${freed.allocated}\n`);
  if (left.length !== 0 || freed.allocated !== 0) throw new Error('delete left something behind');

  step(10, 'where to look');
  process.stdout.write([
    `      relay data dir:    ${relay.dataDir} (relay.db 0600, ca.crt, keys 0600)`,
    `      gateway state dir: ${stateDir} (identity.json, sign.key, client.crt, journal.db, status.json)`,
    `      OpenAPI:           ${relay.url}/docs/json`,
    process.env.PCG_DEMO_KEEP === '1'
      ? `      try it:            curl --cacert ${relay.dataDir}/ca.crt -H 'authorization: Bearer ${tenant.apiKey}' ${relay.url}/v1/projects/${tenant.projectId}/clusters`
      : '      (both dirs are removed at the end; run with PCG_DEMO_KEEP=1 to keep everything running)',
    '      the vCenter password stays on the gateway: the relay keeps host, thumbprint, version and datacenters only.',
    '',
  ].join('\n'));
  if (process.env.PCG_DEMO_KEEP === '1') {
    process.stdout.write('      PCG_DEMO_KEEP=1: relay and gateway keep running; Ctrl-C stops them.\n');
    await new Promise<void>((resolve) => process.once('SIGINT', resolve));
  }
  await nodes.close();
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
