import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { clusterSecrets } from '../../../gateway/clusters/cluster-secrets.js';
import { MAX_GUESTINFO_BYTES, nodeGuestinfo } from '../../../gateway/clusters/node-guestinfo.js';
import { nodeIdentity } from '../../../gateway/clusters/node-identity.js';
import type { NodeSpec } from '../../../proto/schemas/jobs.js';
import { clusterSpec, nodeSpec, TestReadiness } from '../../support/cluster-context.js';
import { tempDir } from '../../support/temp-dir.js';

const STATIC: NodeSpec['address'] = { ip: '192.0.2.10', prefix: 24, gateway: '192.0.2.1', dns: ['192.0.2.53', '192.0.2.54'], searchDomains: ['example.test'] };

/**
 * Decodes guestinfo exactly as cloud-init 22.4's VMware datasource does (its own functions, under
 * /usr/bin/python3) and parses the network config with its network_state parser.
 */
const DECODE = `
import json, sys
from cloudinit.sources.DataSourceVMware import decode, load_json_or_yaml, process_metadata
from cloudinit.net.network_state import parse_net_config_data
extra = json.load(sys.stdin)
md = process_metadata(load_json_or_yaml(decode("metadata", extra["guestinfo.metadata.encoding"], extra["guestinfo.metadata"])))
ud = decode("userdata", extra["guestinfo.userdata.encoding"], extra["guestinfo.userdata"])
out = {"instance-id": md["instance-id"], "local-hostname": md["local-hostname"], "userdata": ud.decode() if isinstance(ud, bytes) else ud}
if "network" in md:
    state = parse_net_config_data(md["network"]["config"])
    out["iface"] = [{"name": i["name"], "subnets": i["subnets"]} for i in state.iter_interfaces()]
    out["dns"] = state.dns_nameservers
print(json.dumps(out))
`;

describe('node guestinfo read by cloud-init 22.4 (VMware datasource, cloud-init schema)', function () {
  this.timeout(60_000);
  const readiness = new TestReadiness();
  const dir = tempDir('userdata');
  after(() => dir.remove());
  const cluster = clusterSpec('cls_userdata0001', 'delta', []);

  const cases: Array<[string, NodeSpec, boolean]> = [
    ['control plane, DHCP (init)', nodeSpec('cp-0'), true],
    ['control plane, static (init)', nodeSpec('cp-0', { address: STATIC }), true],
    ['second control plane, static (join)', nodeSpec('cp-1', { address: { ...STATIC, ip: '192.0.2.11' } }), false],
    ['worker, DHCP (join)', nodeSpec('worker-0'), false],
    ['worker, static (join)', nodeSpec('worker-1', { address: { ...STATIC, ip: '192.0.2.12' } }), false],
  ];

  for (const [title, node, init] of cases) {
    it(`${title}: passes cloud-init schema and decodes as written`, () => {
      const identity = nodeIdentity(cluster, node);
      const extra = nodeGuestinfo({
        cluster, identity, init, joinAddress: init && !node.address ? undefined : '192.0.2.10', endpoint: readiness.endpoint,
        nodeToken: readiness.tokenFor(cluster.clusterId, node.name), secrets: clusterSecrets(cluster.clusterId, readiness),
      });
      const size = Object.values(extra).reduce((n, v) => n + v.length, 0);
      assert.ok(size < MAX_GUESTINFO_BYTES / 4, `guestinfo is ${size} bytes`);
      const decoded = spawnSync('/usr/bin/python3', ['-c', DECODE], { input: JSON.stringify(extra), encoding: 'utf8' });
      assert.equal(decoded.status, 0, decoded.stderr);
      const out = JSON.parse(decoded.stdout) as { 'instance-id': string; 'local-hostname': string; userdata: string; iface?: Array<{ name: string; subnets: Array<Record<string, unknown>> }>; dns?: string[] };
      assert.equal(out['instance-id'], identity.instanceUuid);
      assert.equal(out['local-hostname'], identity.vmName);
      if (node.address) {
        assert.equal(out.iface?.length, 1);
        assert.deepEqual(out.iface[0]!.subnets.map((s) => [s.type, s.address, s.prefix, s.gateway]), [['static', node.address.ip, 24, '192.0.2.1']]);
        assert.deepEqual(out.dns, ['192.0.2.53', '192.0.2.54']);
      } else {
        assert.equal(out.iface, undefined);
      }
      const file = join(dir.path, `${node.name}-${init}.yaml`);
      writeFileSync(file, out.userdata);
      const schema = spawnSync('cloud-init', ['schema', '--config-file', file], { encoding: 'utf8' });
      assert.equal(schema.status, 0, `${schema.stdout}${schema.stderr}`);
      assert.match(schema.stdout, /Valid cloud-config/);
      const token = encodeURIComponent(readiness.tokenFor(cluster.clusterId, node.name));
      assert.ok(out.userdata.includes(`url: https://gateway.test:8443/v1/nodes/ready?token=${token}`));
      assert.match(out.userdata, /post:\n\s+- instance_id\n\s+- hostname\n\s+- fqdn\n\s+tries: 30/);
      assert.ok(out.userdata.includes('https://gateway.test:8443/v1/packs/kubernetes/1.29.3/archive'));
      assert.match(out.userdata, init ? /kind: InitConfiguration/ : /kind: JoinConfiguration/);
      if (!init) assert.match(out.userdata, /apiServerEndpoint: 192\.0\.2\.10:6443/);
    });
  }

  it('a broken userdata fails the same schema check (the check is real)', () => {
    const file = join(dir.path, 'broken.yaml');
    writeFileSync(file, '#cloud-config\nphone_home: {url: 3, tries: many}\n');
    const schema = spawnSync('cloud-init', ['schema', '--config-file', file], { encoding: 'utf8' });
    assert.equal(schema.status, 1);
    assert.match(schema.stderr + schema.stdout, /phone_home\.url: 3 is not of type 'string'/);
  });
});
