import { strict as assert } from 'node:assert';
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:https';
import { gzipSync } from 'node:zlib';
import type { AddressInfo } from 'node:net';
import forge from 'node-forge';
import YAML from 'yaml';
import { readInventory, type Inventory } from '../../gateway/vsphere/inventory.js';
import { retrieveProperties, singleObjectSpec } from '../../gateway/vsphere/property-collector.js';
import { text, type MoRef } from '../../gateway/vsphere/soap-xml.js';
import { VimSession } from '../../gateway/vsphere/vim-session.js';
import { VmOperations } from '../../gateway/vsphere/vm-operations.js';
import { CloudInitNode, type NodeRecord } from '../support/cloud-init-node.js';
import { assertValidCloudConfig } from '../support/cloud-init-schema.js';
import { Vcsim } from '../support/vcsim-fixture.js';
import { waitFor } from '../support/wait-for.js';

interface Pem { readonly key: string; readonly cert: string }

/** A CA certificate (node-forge), and a server certificate for 127.0.0.1 it signs. */
function certificate(cn: string, issuer?: { key: forge.pki.rsa.PrivateKey; cert: forge.pki.Certificate }): Pem & { keyObj: forge.pki.rsa.PrivateKey; certObj: forge.pki.Certificate } {
  const keys = forge.pki.rsa.generateKeyPair({ bits: 2048 });
  const cert = forge.pki.createCertificate();
  cert.publicKey = keys.publicKey;
  cert.serialNumber = `01${forge.util.bytesToHex(forge.random.getBytesSync(15))}`;
  cert.validity.notBefore = new Date(Date.now() - 3600_000);
  cert.validity.notAfter = new Date(Date.now() + 24 * 3600_000);
  cert.setSubject([{ name: 'commonName', value: cn }]);
  cert.setIssuer(issuer ? issuer.cert.subject.attributes : [{ name: 'commonName', value: cn }]);
  cert.setExtensions(issuer
    ? [{ name: 'basicConstraints', cA: false }, { name: 'keyUsage', digitalSignature: true, keyEncipherment: true }, { name: 'extKeyUsage', serverAuth: true }, { name: 'subjectAltName', altNames: [{ type: 7, ip: '127.0.0.1' }] }]
    : [{ name: 'basicConstraints', cA: true, critical: true }, { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true }]);
  cert.sign(issuer?.key ?? keys.privateKey, forge.md.sha256.create());
  return { key: forge.pki.privateKeyToPem(keys.privateKey), cert: forge.pki.certificateToPem(cert), keyObj: keys.privateKey, certObj: cert };
}

interface PhoneHomeRequest { readonly method: string; readonly path: string; readonly token: string | null; readonly query: Record<string, string>; readonly fields: Record<string, string>; readonly contentType: string | undefined; readonly userAgent: string | undefined }

/** The gateway's phone-home endpoint as far as a node can tell: 200 for a known token, 401 otherwise, 503 for `busyTokens`. */
async function phoneHomeServer(tls: Pem, tokens: ReadonlySet<string>, busyTokens: ReadonlySet<string>): Promise<{ server: Server; port: number; received: PhoneHomeRequest[] }> {
  const received: PhoneHomeRequest[] = [];
  const server = createServer({ key: tls.key, cert: tls.cert }, (req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'https://127.0.0.1');
      const token = url.searchParams.get('token');
      received.push({ method: req.method ?? '', path: url.pathname, token, query: Object.fromEntries(url.searchParams), fields: Object.fromEntries(new URLSearchParams(body)),
        contentType: req.headers['content-type'], userAgent: req.headers['user-agent'] });
      res.statusCode = token !== null && busyTokens.has(token) ? 503 : token !== null && tokens.has(token) ? 200 : 401;
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as AddressInfo).port, received };
}

const FINAL_STATES: ReadonlySet<string> = new Set(['ready', 'failed', 'silent']);

describe('cloud-init node simulator against vcsim', function () {
  this.timeout(120_000);
  let vcsim: Vcsim;
  let session: VimSession;
  let ops: VmOperations;
  let inventory: Inventory;
  let folder: MoRef;
  let nodes: CloudInitNode;
  let gateway: Awaited<ReturnType<typeof phoneHomeServer>>;
  let gatewayCa: Pem;
  let otherCa: Pem;
  const ref = (type: string, id: string): MoRef => ({ type, value: id });
  const b64 = (s: string): string => Buffer.from(s).toString('base64');
  const tokens = new Set(['tok-static', 'tok-dhcp', 'tok-silent', 'tok-wrong-ca', 'tok-retrying']);
  const wrongToken = 'stale-token-from-another-cluster';
  // The "DHCP leases" of nodes without a static address (TEST-NET-1: data, never dialled).
  const leases: Record<string, string> = { 'node-dhcp': '192.0.2.150', 'node-wrong-ca': '192.0.2.151', 'node-wrong-token': '192.0.2.152', 'node-silent': '192.0.2.153' };

  before(async () => {
    vcsim = await Vcsim.start({ template: 1 });
    session = await VimSession.login(vcsim.connection());
    ops = new VmOperations(session);
    inventory = await readInventory(session);
    const vmFolder = inventory.items.find((i) => i.kind === 'folder' && i.datacenter === template().datacenter && i.path.endsWith('/vm'))!;
    folder = await ops.createFolder(ref('Folder', vmFolder.id), 'cloud-init-nodes');
    const ca = certificate('PCG gateway test CA');
    gatewayCa = ca;
    otherCa = certificate('Some other CA');
    gateway = await phoneHomeServer(certificate('127.0.0.1', { key: ca.keyObj, cert: ca.certObj }), tokens, new Set(['tok-retrying']));
    nodes = await CloudInitNode.start({
      vcenter: session, pollMs: 100, secBetweenTries: 0, wrongToken, ipFor: (vm) => leases[vm.name]!,
      select: (vm) => vm.name.startsWith('node-'),
      behaviour: (vm) => (vm.name.startsWith('node-silent') ? 'silent' : vm.name.startsWith('node-wrong-token') ? 'wrong-token' : 'phone-home'),
    });
  });
  after(async () => {
    await nodes?.close();
    await new Promise((resolve) => gateway?.server.close(resolve));
    await session?.close();
    await vcsim?.stop();
  });

  afterEach(() => assert.deepEqual(nodes.pollErrors, []));

  function template(): Inventory['items'][number] {
    return inventory.items.find((i) => i.kind === 'template')!;
  }

  /** A #cloud-config as the gateway writes it: trust its CA, phone home with the node's token. */
  function userdata(options: { token: string; ca: string; tries?: number; query?: string }): string {
    const url = `https://127.0.0.1:${gateway.port}/v1/nodes/ready?token=${options.token}${options.query ?? ''}`;
    return `#cloud-config\n${YAML.stringify({ ca_certs: { trusted: [options.ca] }, phone_home: { url, post: ['instance_id', 'hostname', 'fqdn'], tries: options.tries ?? 30 } })}`;
  }

  /** Clone (off) with guestinfo in the clone spec, then power on: the order the gateway uses. */
  async function cloneAndPowerOn(name: string, extraConfig: Record<string, string>): Promise<MoRef> {
    const pool = inventory.items.find((i) => i.kind === 'resourcepool' && i.datacenter === template().datacenter)!;
    const datastore = inventory.items.find((i) => i.kind === 'datastore' && i.datacenter === template().datacenter)!;
    const vm = await ops.cloneVm(ref('VirtualMachine', template().id), folder, name, {
      location: { folder, pool: ref('ResourcePool', pool.id), datastore: ref('Datastore', datastore.id) },
      config: { instanceUuid: randomUUID(), extraConfig },
    });
    await ops.powerOn(vm);
    return vm;
  }

  /** A node booted with base64 guestinfo, once the simulator is done with it. */
  async function bootNode(name: string, metadata: string, user: string): Promise<{ vm: MoRef; record: NodeRecord }> {
    const vm = await cloneAndPowerOn(name, {
      'guestinfo.metadata': b64(metadata), 'guestinfo.metadata.encoding': 'base64',
      'guestinfo.userdata': b64(user), 'guestinfo.userdata.encoding': 'base64',
    });
    const record = await waitFor(`node ${name} done`, () => {
      const r = nodes.node(name);
      return r && FINAL_STATES.has(r.state) ? r : undefined;
    }, 60_000);
    return { vm, record };
  }

  async function guest(vm: MoRef): Promise<{ ipAddress: string; hostName: string }> {
    const [o] = await retrieveProperties(session, [{ type: 'VirtualMachine', paths: ['guest.ipAddress', 'guest.hostName'] }], singleObjectSpec(vm));
    return { ipAddress: text(o!.props['guest.ipAddress']), hostName: text(o!.props['guest.hostName']) };
  }

  const received = (token: string): PhoneHomeRequest[] => gateway.received.filter((r) => r.token === token);

  it('static node: JSON metadata with network v2 is decoded by the VMware datasource, its address reported, phone-home posted once', async () => {
    const metadata = JSON.stringify({
      'instance-id': 'pcg-c1-cp-0', 'local-hostname': 'node-static.pcg.test',
      network: { version: 2, ethernets: { nic0: { match: { name: 'ens*' }, addresses: ['192.0.2.10/24'], gateway4: '192.0.2.1', nameservers: { addresses: ['192.0.2.53'], search: ['pcg.test'] } } } },
    });
    const user = userdata({ token: 'tok-static', ca: gatewayCa.cert });
    await assertValidCloudConfig(user);
    const { vm, record } = await bootNode('node-static', metadata, user);

    assert.equal(record.error, undefined);
    assert.equal(record.state, 'ready');
    const decoded = record.decoded!;
    assert.equal(decoded.accessMethod, 'envvar (VMX_GUESTINFO_METADATA)');
    assert.deepEqual(decoded.metadata, { 'instance-id': 'pcg-c1-cp-0', 'local-hostname': 'node-static.pcg.test' });
    assert.equal(decoded.instanceId, 'pcg-c1-cp-0');
    assert.equal(decoded.hostname, 'node-static');
    assert.equal(decoded.fqdn, 'node-static.pcg.test');
    assert.equal(decoded.network.source, 'metadata');
    assert.deepEqual(decoded.network.interfaces, [{ name: 'nic0', macAddress: null, subnets: [
      { type: 'static', address: '192.0.2.10', prefix: 24, netmask: '255.255.255.0', gateway: '192.0.2.1', dns_nameservers: ['192.0.2.53'], dns_search: ['pcg.test'] },
    ] }]);
    assert.deepEqual(decoded.cloudConfig, YAML.parse(user));

    assert.equal(record.guestIp, '192.0.2.10');
    assert.deepEqual(await guest(vm), { ipAddress: '192.0.2.10', hostName: 'node-static' });

    assert.equal(record.phoneHome!.status, 'posted');
    assert.equal(record.phoneHome!.attempts, 1);
    assert.equal(record.phoneHome!.httpStatus, 200);
    assert.equal(record.phoneHome!.tries, 30);
    assert.equal(record.phoneHome!.trustedCaCount, 1);
    const posts = received('tok-static');
    assert.equal(posts.length, 1);
    assert.equal(posts[0]!.method, 'POST');
    assert.equal(posts[0]!.path, '/v1/nodes/ready');
    assert.equal(posts[0]!.contentType, 'application/x-www-form-urlencoded');
    assert.match(posts[0]!.userAgent ?? '', /^Cloud-Init\/22\.4/);
    assert.deepEqual(posts[0]!.fields, { instance_id: 'pcg-c1-cp-0', hostname: 'node-static', fqdn: 'node-static.pcg.test' });
  });

  it('DHCP node: YAML metadata, a TEST-NET-1 lease reported, $INSTANCE_ID substituted in the URL', async () => {
    const metadata = YAML.stringify({ 'instance-id': 'pcg-c1-worker-0', 'local-hostname': 'node-dhcp', network: { version: 2, ethernets: { nic0: { match: { name: 'ens*' }, dhcp4: true } } } });
    const { vm, record } = await bootNode('node-dhcp', metadata, userdata({ token: 'tok-dhcp', ca: gatewayCa.cert, query: '&instance=$INSTANCE_ID' }));

    assert.equal(record.state, 'ready');
    assert.equal(record.decoded!.instanceId, 'pcg-c1-worker-0');
    assert.equal(record.decoded!.hostname, 'node-dhcp');
    assert.deepEqual(record.decoded!.network.interfaces, [{ name: 'nic0', macAddress: null, subnets: [{ type: 'dhcp4' }] }]);
    assert.equal(record.guestIp, '192.0.2.150');
    assert.deepEqual(await guest(vm), { ipAddress: '192.0.2.150', hostName: 'node-dhcp' });
    const posts = received('tok-dhcp');
    assert.equal(posts.length, 1);
    assert.deepEqual(posts[0]!.query, { token: 'tok-dhcp', instance: 'pcg-c1-worker-0' });
    assert.deepEqual(posts[0]!.fields, { instance_id: 'pcg-c1-worker-0', hostname: 'node-dhcp', fqdn: 'node-dhcp' });
  });

  it('a userdata CA that did not sign the gateway certificate: TLS fails on the first try, nothing reaches the gateway', async () => {
    const metadata = JSON.stringify({ 'instance-id': 'pcg-c1-wrong-ca', 'local-hostname': 'node-wrong-ca' });
    const { record } = await bootNode('node-wrong-ca', metadata, userdata({ token: 'tok-wrong-ca', ca: otherCa.cert }));

    assert.equal(record.state, 'failed');
    assert.equal(record.decoded!.network.source, 'fallback');
    assert.equal(record.guestIp, '192.0.2.151');
    // cloud-init's readurl gives up at once on an SSL error: retrying cannot fix trust.
    assert.equal(record.phoneHome!.status, 'failed');
    assert.equal(record.phoneHome!.attempts, 1);
    assert.match(record.phoneHome!.error ?? '', /CERTIFICATE_VERIFY_FAILED/);
    assert.equal(received('tok-wrong-ca').length, 0);
  });

  it('wrong-token node: posts the wrong token `tries` times, each refused', async () => {
    const metadata = JSON.stringify({ 'instance-id': 'pcg-c1-wrong-token', 'local-hostname': 'node-wrong-token' });
    const { record } = await bootNode('node-wrong-token', metadata, userdata({ token: 'tok-static', ca: gatewayCa.cert, tries: 3 }));

    assert.equal(record.state, 'failed');
    assert.equal(record.phoneHome!.status, 'failed');
    assert.equal(record.phoneHome!.attempts, 3);
    assert.equal(record.phoneHome!.url, `https://127.0.0.1:${gateway.port}/v1/nodes/ready?token=${wrongToken}`);
    assert.deepEqual(record.phoneHome!.errors.map((e) => e.code), [401, 401, 401]);
    const posts = received(wrongToken);
    assert.equal(posts.length, 3);
    assert.deepEqual(posts.map((p) => p.fields.instance_id), ['pcg-c1-wrong-token', 'pcg-c1-wrong-token', 'pcg-c1-wrong-token']);
  });

  it('silent node: reports its IP and never phones home', async () => {
    const metadata = JSON.stringify({ 'instance-id': 'pcg-c1-silent', 'local-hostname': 'node-silent' });
    const { vm, record } = await bootNode('node-silent', metadata, userdata({ token: 'tok-silent', ca: gatewayCa.cert }));

    assert.equal(record.state, 'silent');
    assert.equal(record.phoneHome, undefined);
    assert.deepEqual(await guest(vm), { ipAddress: '192.0.2.153', hostName: 'node-silent' });
    assert.equal(received('tok-silent').length, 0);
  });

  it('close() ends a node still retrying its phone-home and waits for it', async () => {
    const retrying = await CloudInitNode.start({ vcenter: session, pollMs: 100, select: (vm) => vm.name === 'retrying' });
    try {
      const metadata = JSON.stringify({ 'instance-id': 'pcg-c1-retrying', 'local-hostname': 'retrying' });
      // gzip+base64 userdata: the datasource's decode() also takes cloud-init's compressed form.
      await cloneAndPowerOn('retrying', {
        'guestinfo.metadata': b64(metadata), 'guestinfo.metadata.encoding': 'base64',
        'guestinfo.userdata': gzipSync(userdata({ token: 'tok-retrying', ca: gatewayCa.cert })).toString('base64'), 'guestinfo.userdata.encoding': 'gzip+base64',
      });
      // The gateway answers 503: cloud-init waits its 3 s and would try 30 times.
      await waitFor('first phone-home try', () => received('tok-retrying').length === 1, 30_000);
      assert.equal(retrying.node('retrying')!.state, 'phoning-home');
    } finally {
      const started = Date.now();
      await retrying.close();
      assert.ok(Date.now() - started < 2_000, `close() took ${Date.now() - started} ms`);
    }
    const record = retrying.node('retrying')!;
    assert.equal(record.state, 'failed');
    assert.equal(record.guestIp, '192.0.2.100', 'the default lease allocator starts at .100');
    assert.deepEqual(record.decoded!.cloudConfig.phone_home, { url: `https://127.0.0.1:${gateway.port}/v1/nodes/ready?token=tok-retrying`, post: ['instance_id', 'hostname', 'fqdn'], tries: 30 });
    assert.match(record.error ?? '', /node\.py phone-home exited SIGTERM/);
    assert.equal(received('tok-retrying').length, 1);
    assert.equal(nodes.node('retrying'), undefined);
  });
});

describe('cloud-config schema check (cloud-init schema)', function () {
  this.timeout(60_000);

  it('accepts a phone-home cloud-config', async () => {
    await assertValidCloudConfig('#cloud-config\nphone_home:\n  url: https://gw/v1/nodes/ready?token=t\n  post: [instance_id, hostname, fqdn]\n  tries: 30\n');
  });

  it('rejects a value of the wrong type with cloud-init\'s own message', async () => {
    await assert.rejects(assertValidCloudConfig('#cloud-config\nphone_home:\n  url: https://gw/\n  tries: thirty\n'),
      (err: Error) => err.name === 'AssertionError' && /phone_home\.tries: 'thirty' is not of type 'integer'/.test(err.message));
  });

  it('rejects an unknown key inside a module', async () => {
    await assert.rejects(assertValidCloudConfig('#cloud-config\nphone_home:\n  url: https://gw/\n  retries: 3\n'),
      (err: Error) => /Additional properties are not allowed \('retries' was unexpected\)/.test(err.message));
  });

  it('rejects a misspelt top-level key that cloud-init schema 22.4 lets pass', async () => {
    await assert.rejects(assertValidCloudConfig('#cloud-config\nphonehome:\n  url: https://gw/\n'),
      (err: Error) => err.name === 'AssertionError' && /top-level keys cloud-init does not know \(a node would ignore them\): phonehome$/.test(err.message));
  });

  it('rejects userdata without the #cloud-config header', async () => {
    await assert.rejects(assertValidCloudConfig('phone_home:\n  url: https://gw/\n'),
      (err: Error) => /needs to begin with "#cloud-config"/.test(err.message));
  });
});
