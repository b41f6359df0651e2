/**
 * Inventory benchmark (issue 3): a large vcsim model (>= 2,000 VMs, 50 hosts, 20+ networks) read
 * by the client (wall time, SOAP requests) beside a small model in the same run (the request count
 * must not grow with size), and the same inventory through the relay API and the tunnel.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readInventory } from '../../gateway/vsphere/inventory.js';
import { VimSession } from '../../gateway/vsphere/vim-session.js';
import { ApiClient } from '../support/api-client.js';
import { createGateway, pairCli, runGateway } from '../support/gateway-fixture.js';
import { RelayProcess } from '../support/relay-fixture.js';
import { tempDir } from '../support/temp-dir.js';
import { Vcsim, type VcsimModel } from '../support/vcsim-fixture.js';
import { waitFor } from '../support/wait-for.js';
import { median, report, runBench } from './harness/report.js';

const ROUNDS = 5;

async function clientInventory(vcsim: Vcsim): Promise<{ ms: number; requests: number; objects: number }> {
  const session = await VimSession.login(vcsim.connection());
  try {
    const times: number[] = [];
    let requests = 0;
    let objects = 0;
    for (let i = 0; i < ROUNDS; i++) {
      const before = session.soap.requests;
      const started = performance.now();
      const inventory = await readInventory(session);
      times.push(performance.now() - started);
      requests = session.soap.requests - before;
      objects = inventory.items.length;
    }
    return { ms: median(times), requests, objects };
  } finally {
    await session.close();
  }
}

async function main(): Promise<void> {
  const dir = tempDir('bench-inv');
  const small: VcsimModel = { dc: 1, cluster: 1, clusterHost: 2, host: 0, pool: 1, vm: 2, pg: 2, ds: 1, template: 1 };
  const large: VcsimModel = { dc: 1, cluster: 10, clusterHost: 5, host: 0, pool: 1, vm: 201, pg: 20, ds: 4, template: 2 };
  const vcSmall = await Vcsim.start(small);
  const vcLarge = await Vcsim.start(large);
  const relay = await RelayProcess.start();
  let gateway: Awaited<ReturnType<typeof runGateway>> | undefined;
  try {
    const s = await clientInventory(vcSmall);
    const l = await clientInventory(vcLarge);

    const api = new ApiClient(relay.url, relay.caCert, (await relay.createTenant('bench')).apiKey);
    const gw = await createGateway(api, 'bench');
    const state = join(dir.path, 'gw');
    await pairCli(relay, state, gw.pairingCode);
    const passwordFile = join(dir.path, 'pw');
    writeFileSync(passwordFile, vcLarge.password, { mode: 0o600 });
    gateway = runGateway(state, ['--vcenter-host', vcLarge.host, '--vcenter-user', vcLarge.user, '--vcenter-password-file', passwordFile, '--vcenter-thumbprint', vcLarge.thumbprint, '--log-level', 'warn']);
    const [account] = await waitFor('cloud account with vCenter', async () => {
      const accounts = (await api.get<Array<{ id: string; metadata: { vcenter: unknown } }>>('/v1/cloudaccounts')).body;
      return accounts[0]?.metadata.vcenter ? accounts : undefined;
    }, 60_000);
    const apiTimes: number[] = [];
    let hosts = 0;
    for (let i = 0; i < ROUNDS; i++) {
      const started = performance.now();
      const res = await api.get<{ items: unknown[] }>(`/v1/cloudaccounts/${account!.id}/inventory?kind=host`);
      apiTimes.push(performance.now() - started);
      hosts = res.body.items.length;
    }
    const apiMs = median(apiTimes);
    const c = vcLarge.counts;
    report('vSphere inventory', [
      ['large model', `${c.vm} VMs, ${c.template} templates, ${c.host} hosts, ${c.network} networks, ${c.datastore} datastores`],
      ['client: wall time large (ms, median of 5)', l.ms.toFixed(1)],
      ['client: SOAP requests large / small', `${l.requests} / ${s.requests}`],
      ['client: objects large / small', `${l.objects} / ${s.objects}`],
      ['client: wall time small (ms)', s.ms.toFixed(1)],
      ['ratio time large / small', (l.ms / s.ms).toFixed(1)],
      ['relay API through tunnel, kind=host (ms)', `${apiMs.toFixed(1)} (${hosts} hosts)`],
      ['target', 'requests independent of size; client <= 1000 ms'],
    ], {
      vms: c.vm, hosts: c.host, networks: c.network, clientMs: l.ms, requestsLarge: l.requests, requestsSmall: s.requests,
      smallMs: s.ms, ratioTime: l.ms / s.ms, apiMs, targetMs: 1000,
    });
  } finally {
    await gateway?.stop();
    await relay.stop();
    await vcSmall.stop();
    await vcLarge.stop();
    dir.remove();
  }
}

runBench(main);
