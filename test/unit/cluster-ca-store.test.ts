import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { CLUSTER_CA_DIR, ClusterCaStore } from '../../gateway/nodes/cluster-ca-store.js';
import { ManualClock } from '../../proto/clock.js';
import type { PcgError } from '../../proto/errors.js';
import { CLUSTER_A, CLUSTER_B } from '../support/job-fixtures.js';
import { tempDir } from '../support/temp-dir.js';

/** kubeadm's documented recipe for `caCertHashes`, with openssl rather than the gateway's code. */
function opensslPin(certPem: string): string {
  const spki = execFileSync('openssl', ['x509', '-pubkey', '-noout'], { input: certPem });
  const der = execFileSync('openssl', ['pkey', '-pubin', '-outform', 'der'], { input: spki });
  return `sha256:${execFileSync('openssl', ['dgst', '-sha256', '-hex'], { input: der }).toString().trim().split(/\s+/).at(-1)!}`;
}

describe('ClusterCaStore: one CA per cluster, kept 0600 in the state dir', function () {
  this.timeout(30_000);
  const dir = tempDir('cluster-ca');
  after(() => dir.remove());
  const clock = new ManualClock(Date.UTC(2026, 0, 1));

  it('makes a kubeadm-style CA once (CN=kubernetes, CA:TRUE, 10 years), its pin as kubeadm computes it, file 0600 in a 0700 dir', async () => {
    const store = await ClusterCaStore.open(dir.path, clock);
    const ca = await store.caFor(CLUSTER_A);
    const cert = new X509Certificate(ca.certPem);
    assert.equal(cert.ca, true);
    assert.equal(cert.subject, 'CN=kubernetes');
    assert.equal(cert.checkPrivateKey((await import('node:crypto')).createPrivateKey(ca.keyPem.reveal())), true);
    assert.equal(new Date(cert.validTo).getUTCFullYear(), 2036);
    assert.ok(new Date(cert.validFrom).getTime() < clock.now(), 'backdated for clock skew');
    assert.equal(ca.caCertHash, opensslPin(ca.certPem));
    assert.equal(statSync(join(dir.path, CLUSTER_CA_DIR)).mode & 0o777, 0o700);
    assert.equal(statSync(join(dir.path, CLUSTER_CA_DIR, `${CLUSTER_A}.json`)).mode & 0o777, 0o600);
    assert.deepEqual(await store.caFor(CLUSTER_A), ca, 'the same object again in one process');
    assert.equal(inspect(ca).includes('PRIVATE KEY') || JSON.stringify(ca).includes('PRIVATE KEY'), false, 'the key never prints');
  });

  it('the same CA after a restart; another cluster gets another; two stores racing on a new cluster agree', async () => {
    const first = await (await ClusterCaStore.open(dir.path, clock)).caFor(CLUSTER_A);
    const again = await (await ClusterCaStore.open(dir.path, clock)).caFor(CLUSTER_A);
    assert.equal(again.certPem, first.certPem);
    assert.equal(again.keyPem.reveal(), first.keyPem.reveal());
    const [x, y] = await Promise.all([ClusterCaStore.open(dir.path, clock), ClusterCaStore.open(dir.path, clock)]);
    const [b1, b2] = await Promise.all([x.caFor(CLUSTER_B), y.caFor(CLUSTER_B)]);
    assert.equal(b1.certPem, b2.certPem, 'first writer wins, the other reads it');
    assert.notEqual(b1.caCertHash, first.caCertHash);
    assert.deepEqual(readdirSync(join(dir.path, CLUSTER_CA_DIR)).sort(), [`${CLUSTER_A}.json`, `${CLUSTER_B}.json`], 'no temporary file left');
  });

  it('forget removes the CA (idempotent); the cluster made again gets a new one', async () => {
    const store = await ClusterCaStore.open(dir.path, clock);
    const before = await store.caFor(CLUSTER_B);
    await store.forget(CLUSTER_B);
    await store.forget(CLUSTER_B);
    assert.deepEqual(readdirSync(join(dir.path, CLUSTER_CA_DIR)), [`${CLUSTER_A}.json`]);
    assert.notEqual((await store.caFor(CLUSTER_B)).certPem, before.certPem);
  });

  it('a damaged file fails with PCG_ERR_STATE_DIR without quoting the key', async () => {
    const path = join(dir.path, CLUSTER_CA_DIR, `${CLUSTER_A}.json`);
    const good = readFileSync(path, 'utf8');
    writeFileSync(path, good.slice(0, 200));
    try {
      const err = await (await ClusterCaStore.open(dir.path, clock)).caFor(CLUSTER_A).then(() => undefined, (e: unknown) => e as PcgError);
      assert.equal(err?.code, 'PCG_ERR_STATE_DIR');
      assert.match(err.message, /is damaged/);
      assert.equal(inspect(err).includes('PRIVATE'), false);
    } finally {
      writeFileSync(path, good);
    }
  });
});
