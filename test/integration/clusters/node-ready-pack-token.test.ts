import { strict as assert } from 'node:assert';
import { request } from 'node:https';
import { clusterSecrets } from '../../../gateway/clusters/cluster-secrets.js';
import { GatewayHttpsServer } from '../../../gateway/http/gateway-https-server.js';
import { JobJournal } from '../../../gateway/jobs/job-journal.js';
import { ClusterCaStore } from '../../../gateway/nodes/cluster-ca-store.js';
import { NodeReadinessService } from '../../../gateway/nodes/node-readiness-service.js';
import { registerNodeReadyRoute } from '../../../gateway/nodes/node-ready-route.js';
import { NodeTokens } from '../../../gateway/nodes/node-tokens.js';
import { ManualClock } from '../../../proto/clock.js';
import { CLUSTER_A, silentLog } from '../../support/job-fixtures.js';
import { tempDir } from '../../support/temp-dir.js';

function post(url: string, ca: string, headers: Record<string, string> = {}): Promise<{ status: number; body: Record<string, unknown> }> {
  const body = new URLSearchParams({ instance_id: 'i-0001', hostname: 'x' }).toString();
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', ca, headers: { 'content-type': 'application/x-www-form-urlencoded', 'content-length': String(body.length), ...headers } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as Record<string, unknown> }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/**
 * Every node of a cluster holds the cluster's pack registry read token (in /etc/pcg/registry-auth).
 * It must not work as a phone-home: posted to /v1/nodes/ready (as query or bearer) it is refused,
 * and nothing is marked ready — not a node, not a pseudo node `.packs`.
 */
describe('node-ready route: the pack read token every node holds is no phone-home', function () {
  this.timeout(30_000);
  const dir = tempDir('pack-token-route');
  const clock = new ManualClock();
  let journal: JobJournal;
  let server: GatewayHttpsServer;
  let readiness: NodeReadinessService;
  let tokens: NodeTokens;

  before(async () => {
    journal = JobJournal.open(dir.path, clock);
    tokens = await NodeTokens.load(dir.path);
    server = await GatewayHttpsServer.create({ host: '127.0.0.1', port: 0, publicUrl: null, certFile: null, keyFile: null, stateDir: dir.path }, { clock, log: silentLog });
    readiness = new NodeReadinessService(tokens, journal, () => ({ url: server.url, caPem: server.caPem }), silentLog, await ClusterCaStore.open(dir.path, clock));
    registerNodeReadyRoute(server.app, tokens, readiness);
    await server.listen();
  });
  after(async () => {
    readiness.close();
    await server.close();
    journal.close();
    dir.remove();
  });

  it('the token the userdata carries for the registry → 401 PCG_ERR_NODE_TOKEN, nothing ready; a node token still works', async () => {
    const { packReadToken } = await clusterSecrets(CLUSTER_A, readiness);
    const ways: Array<Record<string, string>> = [{}, { authorization: `Bearer ${packReadToken}` }];
    for (const headers of ways) {
      const url = `${server.url}/v1/nodes/ready${'authorization' in headers ? '' : `?token=${encodeURIComponent(packReadToken)}`}`;
      const reply = await post(url, server.caPem, headers);
      assert.equal(reply.status, 401);
      assert.equal(reply.body.code, 'PCG_ERR_NODE_TOKEN');
    }
    assert.equal(journal.readyAt(CLUSTER_A, '.packs'), undefined);
    assert.equal(tokens.verifyPackToken(packReadToken), CLUSTER_A, 'it is the registry token');
    const ok = await post(`${server.url}/v1/nodes/ready?token=${encodeURIComponent(tokens.tokenFor(CLUSTER_A, 'cp-0'))}`, server.caPem);
    assert.deepEqual(ok, { status: 200, body: { ok: true } });
    assert.equal(journal.readyAt(CLUSTER_A, 'cp-0'), clock.now());
  });
});
