import { strict as assert } from 'node:assert';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ApiClient, type ApiResponse } from './api-client.js';
import type { Child } from './child.js';
import { CloudInitNode } from './cloud-init-node.js';
import { createGateway, pairCli, runGateway } from './gateway-fixture.js';
import { importPublicPacks } from './public-packs.js';
import { RelayProcess, freePort, type Tenant } from './relay-fixture.js';
import { tempDir } from './temp-dir.js';
import { Vcsim, type VcsimModel } from './vcsim-fixture.js';
import { vmCensus, type CensusVm } from './vm-census.js';
import { waitFor } from './wait-for.js';

export interface ClusterView {
  id: string;
  name: string;
  state: string;
  nodes: Array<{ name: string; role: string; state: string; ip: string | null; vm: string | null; ready: boolean }>;
  latestJob: { id: string; kind: string; state: string } | null;
}

export interface EventView { id: number; at: string; step: string; node: string | null; level: string; message: string; jobId: string | null; seq: number | null }
export interface JobView { id: string; kind: string; action: string; state: string; attempts: number; error: { code: string; message: string } | null }

/**
 * The whole system on loopback for cluster tests and the demo: vcsim, a relay, a paired gateway
 * running with vCenter, and cloud-init nodes playing every VM the gateway powers on. Everything
 * it started is stopped by close().
 */
export class ClusterLab {
  gateway: Child;
  relay: RelayProcess;

  private constructor(
    readonly vcsim: Vcsim,
    relay: RelayProcess,
    readonly tenant: Tenant,
    readonly api: ApiClient,
    readonly gatewayId: string,
    readonly stateDir: string,
    readonly accountId: string,
    readonly template: string,
    readonly nodes: CloudInitNode,
    private readonly gatewayArgs: string[],
    private readonly dir: { path: string; remove: () => void },
    gateway: Child,
  ) {
    this.gateway = gateway;
    this.relay = relay;
  }

  static async start(options: { model?: VcsimModel; gatewayEnv?: NodeJS.ProcessEnv; gatewayArgs?: string[]; relayArgs?: string[] } = {}): Promise<ClusterLab> {
    const dir = tempDir('cluster-lab');
    const vcsim = await Vcsim.start({ dc: 1, cluster: 1, clusterHost: 2, vm: 1, ds: 1, pg: 1, template: 1, ...options.model });
    const passwordFile = join(dir.path, 'vcenter-password');
    writeFileSync(passwordFile, vcsim.password, { mode: 0o600 });
    // The packs createProfile names, in the relay's public registry (offline, before it starts).
    await importPublicPacks(join(dir.path, 'relay'));
    const relay = await RelayProcess.start({ dataDir: join(dir.path, 'relay'), args: ['--heartbeat', '1s', ...(options.relayArgs ?? [])] });
    const tenant = await relay.createTenant('clusters');
    const api = new ApiClient(relay.url, relay.caCert, tenant.apiKey);
    const gw = await createGateway(api, 'dc-1');
    const stateDir = join(dir.path, 'gateway');
    const paired = await pairCli(relay, stateDir, gw.pairingCode);
    assert.equal(paired.code, 0, paired.stderr);
    const gatewayArgs = ['--vcenter-host', vcsim.host, '--vcenter-user', vcsim.user, '--vcenter-password-file', passwordFile, '--vcenter-thumbprint', vcsim.thumbprint,
      // A fixed port: the phone-home URL in a node's userdata must survive a gateway restart.
      '--https-host', '127.0.0.1', '--https-port', String(await freePort()), '--jobs-node-ready-timeout', '60s', ...(options.gatewayArgs ?? [])];
    const gateway = runGateway(stateDir, gatewayArgs, options.gatewayEnv);
    await waitFor('gateway online', async () => (await api.get<{ status: string }>(`/v1/gateways/${gw.id}`)).body.status === 'online', 20_000);
    const [account] = (await api.get<Array<{ id: string; gatewayId: string }>>('/v1/cloudaccounts')).body.filter((a) => a.gatewayId === gw.id);
    const templates = await api.get<{ items: Array<{ name: string }> }>(`/v1/cloudaccounts/${account!.id}/inventory?kind=template`);
    const nodes = await CloudInitNode.start({ vcenter: vcsim.connection(), pollMs: 100, secBetweenTries: 1 });
    return new ClusterLab(vcsim, relay, tenant, api, gw.id, stateDir, account!.id, templates.body.items[0]!.name, nodes, gatewayArgs, dir, gateway);
  }

  /** Starts the gateway again (after a kill), with `env` for this run only. */
  async restartGateway(env: NodeJS.ProcessEnv = {}): Promise<void> {
    await this.gateway.stop();
    this.gateway = runGateway(this.stateDir, this.gatewayArgs, env);
  }

  /** kill -9 of the relay, then the same data dir and port again (the API client keeps working). */
  async crashRelay(): Promise<void> {
    await this.relay.child.kill9();
    this.relay = await this.relay.restart();
  }

  async createProfile(name = 'ubuntu-k8s'): Promise<string> {
    const layer = (layer: string, pack: string, version: string, values = '') => ({ layer, registry: 'public', name: pack, version, values });
    const res = await this.api.post<{ id: string }>(`/v1/projects/${this.tenant.projectId}/profiles`, {
      name, description: 'Ubuntu 22.04, Kubernetes 1.30, Calico, vSphere CSI',
      layers: [
        { ...layer('os', 'ubuntu', '22.4.0', 'timezone: UTC\n'), template: this.template },
        layer('k8s', 'kubernetes', '1.30.2', 'podCIDR: 192.168.0.0/16\n'),
        layer('cni', 'calico', '3.27.0', 'mtu: 1450\n'),
        layer('csi', 'vsphere-csi', '3.1.0'),
      ],
    });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    return res.body.id;
  }

  /** A static pool in TEST-NET-1 (addresses are data for the simulated guests, never dialled). */
  async createPool(name = 'nodes', start = '192.0.2.10', end = '192.0.2.40'): Promise<string> {
    const res = await this.api.post<{ id: string }>(`/v1/cloudaccounts/${this.accountId}/ippools`, {
      name, range: { start, end }, prefix: 24, gateway: '192.0.2.1', dns: ['192.0.2.53'], searchDomains: ['cluster.test'],
    });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    return res.body.id;
  }

  createCluster(name: string, profileId: string, options: { workers?: number; controlPlanes?: 1 | 3; poolId?: string } = {}): Promise<ApiResponse<ClusterView>> {
    const size = { cpus: 2, memoryMiB: 4096, diskGiB: 40 };
    return this.api.post<ClusterView>(`/v1/projects/${this.tenant.projectId}/clusters`, {
      name, profileId, cloudAccountId: this.accountId,
      placement: { datacenter: 'DC0', folder: 'vm', computeResource: 'DC0_C0', datastore: 'LocalDS_0', network: 'VM Network' },
      nodePools: { controlPlane: { count: options.controlPlanes ?? 1, ...size }, workers: { count: options.workers ?? 2, ...size } },
      addressing: options.poolId ? { mode: 'static', poolId: options.poolId } : { mode: 'dhcp' },
    });
  }

  async cluster(id: string): Promise<ClusterView> {
    const res = await this.api.get<ClusterView>(`/v1/clusters/${id}`);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body;
  }

  /** Waits until the cluster is in `state` (and its latest job finished), failing early on a terminal surprise. */
  waitState(id: string, state: string, timeoutMs = 90_000): Promise<ClusterView> {
    return waitFor(`cluster ${id} ${state}`, async () => {
      const cluster = await this.cluster(id);
      if (cluster.state === state && (!cluster.latestJob || ['succeeded', 'failed', 'cancelled'].includes(cluster.latestJob.state))) return cluster;
      if (cluster.state === 'failed' && state !== 'failed') {
        const events = await this.events(id);
        throw new Error(`cluster failed: ${events.filter((e) => e.level === 'error').map((e) => e.message).join('; ')}`);
      }
      return undefined;
    }, timeoutMs, 200);
  }

  async events(id: string): Promise<EventView[]> {
    return (await this.api.get<EventView[]>(`/v1/clusters/${id}/events`)).body;
  }

  async jobs(id: string): Promise<JobView[]> {
    return (await this.api.get<JobView[]>(`/v1/clusters/${id}/jobs`)).body;
  }

  /** The cluster's VMs as vcsim has them, by the test's own query: names carry the cluster name. */
  async vms(clusterName: string): Promise<CensusVm[]> {
    return (await vmCensus(this.vcsim)).filter((vm) => !vm.template && vm.name.startsWith(`${clusterName}-`));
  }

  async close(): Promise<void> {
    await this.nodes.close();
    await this.gateway.stop();
    await this.relay.stop();
    await this.vcsim.stop();
    this.dir.remove();
  }
}
