import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { parseAllDocuments } from 'yaml';
import { clusterSecrets, type ClusterSecrets } from '../../../gateway/clusters/cluster-secrets.js';
import { MAX_GUESTINFO_BYTES, nodeGuestinfo } from '../../../gateway/clusters/node-guestinfo.js';
import { nodeIdentity } from '../../../gateway/clusters/node-identity.js';
import type { NodeSpec } from '../../../proto/schemas/jobs.js';
import { decodeGuestinfo } from '../../support/cloud-init-node.js';
import { assertValidCloudConfig } from '../../support/cloud-init-schema.js';
import { clusterSpec, nodeSpec, TestReadiness } from '../../support/cluster-context.js';

const STATIC: NodeSpec['address'] = { ip: '192.0.2.10', prefix: 24, gateway: '192.0.2.1', dns: ['192.0.2.53', '192.0.2.54'], searchDomains: ['example.test'] };

interface WrittenFile {
  readonly path: string;
  readonly permissions?: string;
  readonly content: string;
}

/** kubeadm's documented recipe for the CA pin, run with openssl (not the gateway's code). */
function opensslCaHash(certPem: string): string {
  const spki = execFileSync('openssl', ['x509', '-pubkey', '-noout'], { input: certPem });
  const der = execFileSync('openssl', ['pkey', '-pubin', '-outform', 'der'], { input: spki });
  return `sha256:${execFileSync('openssl', ['dgst', '-sha256', '-hex'], { input: der }).toString().trim().split(/\s+/).at(-1)!}`;
}

/**
 * Every userdata the executor writes, decoded by cloud-init 22.4's own VMware datasource (node.py),
 * checked by `cloud-init schema`, and read back as kubeadm would: the first control plane carries
 * the cluster CA the gateway made, every joining node pins that CA's public key hash.
 */
describe('node guestinfo read by cloud-init 22.4 (VMware datasource, cloud-init schema)', function () {
  this.timeout(60_000);
  const readiness = new TestReadiness();
  const cluster = clusterSpec('cls_userdata0001', 'delta', []);
  let secrets: ClusterSecrets;
  before(async () => {
    secrets = await clusterSecrets(cluster.clusterId, readiness);
  });

  const cases: Array<[string, NodeSpec, boolean]> = [
    ['control plane, DHCP (init)', nodeSpec('cp-0'), true],
    ['control plane, static (init)', nodeSpec('cp-0', { address: STATIC }), true],
    ['second control plane, static (join)', nodeSpec('cp-1', { address: { ...STATIC, ip: '192.0.2.11' } }), false],
    ['worker, DHCP (join)', nodeSpec('worker-0'), false],
    ['worker, static (join)', nodeSpec('worker-1', { address: { ...STATIC, ip: '192.0.2.12' } }), false],
  ];

  for (const [title, node, init] of cases) {
    it(`${title}: passes cloud-init schema, decodes as written, carries or pins the cluster CA`, async () => {
      const identity = nodeIdentity(cluster, node);
      const extra = nodeGuestinfo({
        cluster, identity, init, joinAddress: init && !node.address ? undefined : '192.0.2.10', endpoint: readiness.endpoint,
        nodeToken: readiness.tokenFor(cluster.clusterId, node.name), secrets,
      });
      const size = Object.values(extra).reduce((n, v) => n + v.length, 0);
      assert.ok(size < MAX_GUESTINFO_BYTES / 4, `guestinfo is ${size} bytes`);
      const decoded = await decodeGuestinfo(extra);
      assert.equal(decoded.instanceId, identity.instanceUuid);
      assert.equal(decoded.hostname, identity.vmName);
      if (node.address) {
        assert.equal(decoded.network.source, 'metadata');
        assert.deepEqual(decoded.network.interfaces.flatMap((i) => i.subnets).map((s) => [s.type, s.address, s.prefix, s.gateway]), [['static', node.address.ip, 24, '192.0.2.1']]);
      } else {
        assert.equal(decoded.network.source, 'fallback');
      }
      const userdata = Buffer.from(extra['guestinfo.userdata']!, 'base64').toString('utf8');
      await assertValidCloudConfig(userdata);
      const token = encodeURIComponent(readiness.tokenFor(cluster.clusterId, node.name));
      assert.ok(userdata.includes(`url: https://gateway.test:8443/v1/nodes/ready?token=${token}`));
      assert.ok(userdata.includes('https://gateway.test:8443/v1/packs/kubernetes/1.29.3/archive'));

      const files = decoded.cloudConfig.write_files as WrittenFile[];
      const file = (path: string): WrittenFile | undefined => files.find((f) => f.path === path);
      assert.equal(file('/etc/pcg/registry-auth')?.content, `Authorization: Bearer ${readiness.packReadTokenFor(cluster.clusterId)}\n`);
      assert.notEqual(readiness.packReadTokenFor(cluster.clusterId), readiness.tokenFor(cluster.clusterId, '.packs'));
      const kubeadm = parseAllDocuments(file('/etc/pcg/kubeadm.yaml')!.content).map((d) => d.toJS() as { kind: string; discovery?: unknown });
      assert.equal(userdata.includes('unsafeSkipCAVerification'), false, 'no node joins without verifying the CA');
      if (init) {
        assert.equal(kubeadm[0]!.kind, 'InitConfiguration');
        assert.deepEqual(file('/etc/kubernetes/pki/ca.crt'), { path: '/etc/kubernetes/pki/ca.crt', permissions: '0644', content: secrets.ca.certPem });
        assert.deepEqual(file('/etc/kubernetes/pki/ca.key'), { path: '/etc/kubernetes/pki/ca.key', permissions: '0600', content: secrets.ca.keyPem.reveal() });
        // The key written is the certificate's: kubeadm init refuses a mismatched pair.
        const certModulus = execFileSync('openssl', ['x509', '-noout', '-modulus'], { input: file('/etc/kubernetes/pki/ca.crt')!.content }).toString();
        const keyModulus = execFileSync('openssl', ['rsa', '-noout', '-modulus'], { input: file('/etc/kubernetes/pki/ca.key')!.content }).toString();
        assert.equal(keyModulus, certModulus);
        assert.match(execFileSync('openssl', ['x509', '-noout', '-subject', '-ext', 'basicConstraints'], { input: secrets.ca.certPem }).toString(), /CN ?= ?kubernetes[\s\S]*CA:TRUE/);
      } else {
        assert.equal(kubeadm[0]!.kind, 'JoinConfiguration');
        assert.equal(file('/etc/kubernetes/pki/ca.key'), undefined, 'only the first control plane holds the CA key');
        assert.equal(file('/etc/kubernetes/pki/ca.crt'), undefined);
        assert.deepEqual(kubeadm[0]!.discovery, { bootstrapToken: { apiServerEndpoint: '192.0.2.10:6443', token: secrets.kubeadmToken, caCertHashes: [opensslCaHash(secrets.ca.certPem)] } });
      }
    });
  }

  it('the CA key never prints with the secrets', () => {
    assert.equal(JSON.stringify(secrets).includes('PRIVATE KEY'), false);
    assert.match(JSON.stringify(secrets), /"keyPem":"\[redacted\]"/);
  });

  it('a broken userdata fails the same schema check (the check is real)', async () => {
    await assert.rejects(assertValidCloudConfig('#cloud-config\nphone_home: {url: 3, tries: many}\n'), /phone_home\.url: 3 is not of type 'string'/);
  });
});
