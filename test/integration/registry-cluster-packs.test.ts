import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { systemClock } from '../../proto/clock.js';
import { PcgError } from '../../proto/errors.js';
import type { Job, NodeStatus, PackRef } from '../../proto/schemas/jobs.js';
import { GatewayHttpsServer } from '../../gateway/http/gateway-https-server.js';
import type { JobContext, JobExecutor } from '../../gateway/jobs/job-executor.js';
import { NodeTokens } from '../../gateway/nodes/node-tokens.js';
import { withClusterPacks } from '../../gateway/registry/cluster-packs-executor.js';
import { CLUSTER_PACKS_FILE } from '../../gateway/registry/cluster-pack-scopes.js';
import { EmbeddedRegistry } from '../../gateway/registry/embedded-registry.js';
import { ApiClient } from '../support/api-client.js';
import { createGateway, pairCli } from '../support/gateway-fixture.js';
import { CLUSTER_A, CLUSTER_B, makeJob, noReadiness, silentLog as log } from '../support/job-fixtures.js';
import { OciClient } from '../support/oci-client.js';
import { importPublicPacks, type ImportedPack } from '../support/public-packs.js';
import { settledRelayGets } from '../support/relay-access-log.js';
import { RelayProcess } from '../support/relay-fixture.js';
import { tempDir } from '../support/temp-dir.js';

const sha256 = (b: Buffer): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const pack = (layer: PackRef['layer'], name: string, version: string): PackRef => ({ layer, registry: 'public', name, version, values: '' });

function jobWith(clusterId: string, packs: PackRef[], action: 'apply' | 'delete' = 'apply'): Job {
  const job = makeJob(clusterId, { action });
  return { ...job, cluster: { ...job.cluster, packs } };
}

/** The inner executor the cluster packs decorator wraps: records what nodes could fetch at the moment it was called. */
class ProbingExecutor implements JobExecutor {
  readonly seen: Array<{ readonly job: string; readonly status: number }> = [];
  constructor(private readonly probe: (job: Job) => Promise<number>) {}
  async execute(context: JobContext): Promise<{ readonly nodes: NodeStatus[] }> {
    this.seen.push({ job: context.job.id, status: await this.probe(context.job) });
    return { nodes: [] };
  }
}

function run(executor: JobExecutor, job: Job): Promise<{ events: string[] }> {
  const events: string[] = [];
  const context: JobContext = {
    job, signal: new AbortController().signal, calls: undefined as never, readiness: noReadiness, checkpoint: () => undefined,
    event: (step, message) => events.push(`${step}: ${message}`),
  };
  return executor.execute(context).then(() => ({ events }));
}

/**
 * Before a cluster's nodes boot, the gateway scopes the cluster's pack read token to the packs of
 * its spec and pulls the public ones through (withClusterPacks over the registry's ClusterPacks);
 * a node token then reads its own cluster's packs only.
 */
describe('registry: cluster packs (token scopes, prefetch before nodes boot)', function () {
  this.timeout(120_000);
  const dir = tempDir('registry-cluster-packs');
  let relay: RelayProcess;
  let imported: Map<string, ImportedPack>;
  let state: string;
  let server: GatewayHttpsServer;
  let registry: EmbeddedRegistry;
  let tokens: NodeTokens;
  let node: OciClient;

  async function openGateway(): Promise<void> {
    server = await GatewayHttpsServer.create({ host: '127.0.0.1', port: 0, publicUrl: null, certFile: null, keyFile: null, stateDir: state }, { clock: systemClock, log });
    registry = await EmbeddedRegistry.open({ stateDir: state, username: null, passwordFile: null }, { app: server.app, clock: systemClock, log, readTokens: tokens });
    await server.listen();
    node = OciClient.create(server.url, server.caPem);
  }
  async function closeGateway(): Promise<void> {
    node.close();
    await server.close();
    await registry.close();
  }
  const as = (clusterId: string): OciClient => node.as(`Bearer ${tokens.packReadTokenFor(clusterId)}`);

  before(async () => {
    const dataDir = join(dir.path, 'relay');
    imported = new Map((await importPublicPacks(dataDir)).map((p) => [p.name, p]));
    relay = await RelayProcess.start({ dataDir });
    const api = new ApiClient(relay.url, relay.caCert, (await relay.createTenant('cluster-packs')).apiKey);
    state = join(dir.path, 'gw');
    assert.equal((await pairCli(relay, state, (await createGateway(api, 'dc-packs')).pairingCode)).code, 0);
    tokens = await NodeTokens.load(state);
    await openGateway();
  });
  after(async () => {
    await closeGateway();
    await relay.stop();
    dir.remove();
  });

  it('prefetches a job\'s public packs before the inner executor runs; each archive crosses once', async () => {
    const inner = new ProbingExecutor(async (job) => (await as(job.cluster.clusterId).send('GET', '/v1/packs/ubuntu/22.4.0/archive')).status);
    const executor = withClusterPacks(inner, registry.clusterPacks);
    const a = await run(executor, jobWith(CLUSTER_A, [pack('os', 'ubuntu', '22.4.0'), pack('k8s', 'kubernetes', '1.30.2')]));
    assert.deepEqual(a.events, ['packs: 2 packs ready on the gateway; pulled from the relay: ubuntu:22.4.0, kubernetes:1.30.2']);
    assert.deepEqual(inner.seen.map((s) => s.status), [200], 'the pack was servable when the nodes would boot');
    const again = await run(executor, jobWith(CLUSTER_A, [pack('os', 'ubuntu', '22.4.0'), pack('k8s', 'kubernetes', '1.30.2')]));
    assert.deepEqual(again.events, ['packs: 2 packs ready on the gateway'], 'a re-run finds them local');
    await run(withClusterPacks(new ProbingExecutor(() => Promise.resolve(0)), registry.clusterPacks), jobWith(CLUSTER_B, [pack('cni', 'calico', '3.27.0')]));
    for (const name of ['ubuntu', 'kubernetes', 'calico']) {
      assert.equal(await settledRelayGets(relay, `/v2/packs/${name}/blobs/${imported.get(name)!.digest}`), 1, name);
    }
    assert.equal(statSync(join(state, 'registry', CLUSTER_PACKS_FILE)).mode & 0o777, 0o600);
    assert.deepEqual(JSON.parse(readFileSync(join(state, 'registry', CLUSTER_PACKS_FILE), 'utf8')), {
      [CLUSTER_A]: ['packs/kubernetes', 'packs/ubuntu'], [CLUSTER_B]: ['packs/calico'],
    });
  });

  it('a cluster\'s token pulls its own packs only: another cluster\'s are 403 (OCI DENIED, PCG_ERR_FORBIDDEN)', async () => {
    const archive = await as(CLUSTER_A).send('GET', '/v1/packs/kubernetes/1.30.2/archive');
    assert.deepEqual([archive.status, sha256(archive.body)], [200, imported.get('kubernetes')!.digest]);
    assert.equal((await as(CLUSTER_A).send('GET', '/v2/packs/ubuntu/manifests/22.4.0')).status, 200);
    const native = await as(CLUSTER_A).send('GET', '/v1/packs/calico/3.27.0/archive');
    assert.deepEqual([native.status, native.json<{ code: string }>().code], [403, 'PCG_ERR_FORBIDDEN']);
    const oci = await as(CLUSTER_A).send('GET', `/v2/packs/calico/blobs/${imported.get('calico')!.digest}`);
    assert.deepEqual([oci.status, oci.json<{ errors: Array<{ code: string }> }>().errors[0]!.code], [403, 'DENIED']);
    assert.equal((await as(CLUSTER_B).send('GET', '/v1/packs/calico/3.27.0/archive')).status, 200);
    assert.equal((await as(CLUSTER_B).send('GET', '/v1/packs/ubuntu/22.4.0/archive')).status, 403);
    // As a Basic password (containerd, skopeo) the same scope holds.
    const basic = node.as(OciClient.basic('node', tokens.packReadTokenFor(CLUSTER_B)));
    assert.deepEqual([(await basic.send('GET', '/v2/packs/calico/manifests/3.27.0')).status, (await basic.send('GET', '/v2/packs/ubuntu/manifests/22.4.0')).status], [200, 403]);
    // A cluster this gateway never built pulls nothing, even packs the gateway holds.
    assert.equal((await as('cls_zzzzzzzzzzzz').send('GET', '/v1/packs/ubuntu/22.4.0/archive')).status, 403);
  });

  it('scopes survive a restart; a delete job drops them; a public pack neither side has fails the job before the inner executor', async () => {
    await closeGateway();
    await openGateway();
    assert.equal((await as(CLUSTER_B).send('GET', '/v1/packs/calico/3.27.0/archive')).status, 200, 'after a restart');
    const inner = new ProbingExecutor(() => Promise.resolve(0));
    await run(withClusterPacks(inner, registry.clusterPacks), jobWith(CLUSTER_A, [], 'delete'));
    assert.equal((await as(CLUSTER_A).send('GET', '/v1/packs/ubuntu/22.4.0/archive')).status, 403, 'a deleted cluster\'s token');
    await assert.rejects(run(withClusterPacks(inner, registry.clusterPacks), jobWith(CLUSTER_B, [pack('cni', 'calico', '9.9.9')])),
      (err: unknown) => err instanceof PcgError && err.code === 'PCG_ERR_PROFILE_PACK' && /calico:9\.9\.9/.test(err.message));
    assert.equal(inner.seen.length, 1, 'only the delete reached the inner executor');
  });
});
