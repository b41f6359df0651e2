import { strict as assert } from 'node:assert';
import { X509Certificate } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { ManualClock } from '../../proto/clock.js';
import { PcgError } from '../../proto/errors.js';
import { GatewayHttpsServer } from '../../gateway/http/gateway-https-server.js';
import { JobJournal } from '../../gateway/jobs/job-journal.js';
import { NodeReadinessService } from '../../gateway/nodes/node-readiness-service.js';
import { registerNodeReadyRoute } from '../../gateway/nodes/node-ready-route.js';
import { NodeTokens } from '../../gateway/nodes/node-tokens.js';
import { CLUSTER_A, silentLog } from '../support/job-fixtures.js';
import { tempDir } from '../support/temp-dir.js';

interface Reply {
  readonly status: number;
  readonly body: Record<string, unknown>;
}

/** A POST as cloud-init's phone_home makes it: form fields, verified against the gateway's CA. */
function post(url: string, ca: string, body: string, headers: Record<string, string>): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', ca, headers: { 'content-length': Buffer.byteLength(body).toString(), ...headers } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as Record<string, unknown> }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const FORM = 'application/x-www-form-urlencoded';
const phoneHome = new URLSearchParams({ instance_id: 'i-0001', hostname: 'cp-0', fqdn: 'cp-0.local', pub_key_ed25519: 'ssh-ed25519 AAAA test' }).toString();

describe('gateway HTTPS server: node phone-home', function () {
  this.timeout(30_000);
  const dir = tempDir('gateway-https');
  const clock = new ManualClock();
  let journal: JobJournal;
  let server: GatewayHttpsServer;
  let readiness: NodeReadinessService;
  let tokens: NodeTokens;

  before(async () => {
    journal = JobJournal.open(dir.path, clock);
    tokens = await NodeTokens.load(dir.path);
    server = await GatewayHttpsServer.create({ host: '127.0.0.1', port: 0, publicUrl: null, certFile: null, keyFile: null, stateDir: dir.path }, { clock, log: silentLog });
    readiness = new NodeReadinessService(tokens, journal, () => ({ url: server.url, caPem: server.caPem }), silentLog);
    registerNodeReadyRoute(server.app, tokens, readiness);
    await server.listen();
  });
  after(async () => {
    readiness.close();
    await server.close();
    await server.close();
    journal.close();
    dir.remove();
  });

  it('serves a certificate from its own CA (keys 0600) for the loopback names; the endpoint is the base URL and that CA', () => {
    assert.match(server.url, /^https:\/\/127\.0\.0\.1:\d+$/);
    assert.deepEqual(readiness.endpoint, { url: server.url, caPem: readFileSync(join(dir.path, 'gateway-ca.crt'), 'utf8') });
    for (const key of ['gateway-ca.key', 'https.key']) assert.equal(statSync(join(dir.path, key)).mode & 0o777, 0o600, key);
    const leaf = new X509Certificate(readFileSync(join(dir.path, 'https.crt')));
    assert.equal(leaf.checkIssued(new X509Certificate(server.caPem)), true);
    assert.match(leaf.subjectAltName!, /IP Address:127\.0\.0\.1/);
    assert.match(leaf.subjectAltName!, /DNS:localhost/);
  });

  it('prefers TLS_AES_128_GCM_SHA256 whatever order the client offers (blob pulls spend their CPU on the cipher)', async () => {
    const cipher = await new Promise<string>((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', port: Number(new URL(server.url).port), ca: server.caPem, servername: 'localhost' }, () => {
        resolve(socket.getCipher().name);
        socket.end();
      });
      socket.on('error', reject);
    });
    assert.equal(cipher, 'TLS_AES_128_GCM_SHA256');
  });

  it('a node with its token in the query reports ready with a form-encoded body: 200 {ok:true}, journaled, waiters woken', async () => {
    const waiting = readiness.waitReady(CLUSTER_A, 'cp-0', { timeoutMs: 10_000, signal: new AbortController().signal });
    const token = tokens.tokenFor(CLUSTER_A, 'cp-0');
    const reply = await post(`${server.url}/v1/nodes/ready?token=${encodeURIComponent(token)}`, server.caPem, phoneHome, { 'content-type': FORM });
    assert.deepEqual(reply, { status: 200, body: { ok: true } });
    await waiting;
    assert.equal(journal.readyAt(CLUSTER_A, 'cp-0'), clock.now());
    await readiness.waitReady(CLUSTER_A, 'cp-0', { timeoutMs: 1, signal: new AbortController().signal });
    assert.equal(readiness.waiting, 0);
  });

  it('accepts Authorization: Bearer and a JSON body', async () => {
    const reply = await post(`${server.url}/v1/nodes/ready`, server.caPem, JSON.stringify({ hostname: 'worker-0' }), {
      'content-type': 'application/json', authorization: `Bearer ${tokens.tokenFor(CLUSTER_A, 'worker-0')}`,
    });
    assert.deepEqual(reply, { status: 200, body: { ok: true } });
    assert.equal(journal.readyAt(CLUSTER_A, 'worker-0'), clock.now());
  });

  it('a bad or missing token is 401 PCG_ERR_NODE_TOKEN and records nothing', async () => {
    const good = tokens.tokenFor(CLUSTER_A, 'worker-1');
    const forged = `${CLUSTER_A}.worker-1.${'A'.repeat(43)}`;
    for (const url of [`${server.url}/v1/nodes/ready?token=${forged}`, `${server.url}/v1/nodes/ready`, `${server.url}/v1/nodes/ready?token=${good.slice(0, -1)}`]) {
      const reply = await post(url, server.caPem, phoneHome, { 'content-type': FORM });
      assert.equal(reply.status, 401, url);
      assert.equal(reply.body.code, 'PCG_ERR_NODE_TOKEN');
      assert.match(String(reply.body.message), /token/);
    }
    assert.equal(journal.readyAt(CLUSTER_A, 'worker-1'), undefined);
    const other = await post(`${server.url}/v1/nope`, server.caPem, '', {});
    assert.deepEqual([other.status, other.body.code], [404, 'PCG_ERR_NOT_FOUND']);
  });

  it('waitReady fails with PCG_ERR_NODE_TIMEOUT naming the node, or with the abort reason; forget() makes a node report again', async () => {
    await assert.rejects(readiness.waitReady(CLUSTER_A, 'worker-9', { timeoutMs: 30, signal: new AbortController().signal }),
      (err: unknown) => err instanceof PcgError && err.code === 'PCG_ERR_NODE_TIMEOUT' && /node worker-9 of cluster cls_a+/.test(err.message));
    const controller = new AbortController();
    const waiting = readiness.waitReady(CLUSTER_A, 'worker-9', { timeoutMs: 10_000, signal: controller.signal });
    controller.abort(new PcgError('PCG_ERR_JOB_CANCELLED', 'cancelled by the test'));
    await assert.rejects(waiting, (err: unknown) => err instanceof PcgError && err.code === 'PCG_ERR_JOB_CANCELLED');
    assert.equal(readiness.waiting, 0);
    readiness.forget(CLUSTER_A, 'cp-0');
    await assert.rejects(readiness.waitReady(CLUSTER_A, 'cp-0', { timeoutMs: 10, signal: new AbortController().signal }), (err: unknown) => (err as PcgError).code === 'PCG_ERR_NODE_TIMEOUT');
  });

  it('a restart keeps the CA nodes already trust', async () => {
    const again = await GatewayHttpsServer.create({ host: '127.0.0.1', port: 0, publicUrl: 'https://gw.example:9443/', certFile: null, keyFile: null, stateDir: dir.path }, { clock, log: silentLog });
    try {
      assert.equal(again.caPem, server.caPem);
      await again.listen();
      assert.equal(again.url, 'https://gw.example:9443');
      assert.match(new X509Certificate(readFileSync(join(dir.path, 'https.crt'))).subjectAltName!, /DNS:gw\.example/, 're-issued for the public name');
    } finally {
      await again.close();
    }
  });
});
