import { strict as assert } from 'node:assert';
import { clusterFolderName, instanceUuidFor, nodeOfVmName, vmNameFor } from '../../gateway/clusters/node-identity.js';

describe('cluster node identity', () => {
  const cluster = { clusterId: 'cls_0123456789ab', name: 'prod-east' };

  it('VM names are DNS labels, stable, unique per cluster, and read back to their node', () => {
    const name = vmNameFor(cluster, 'worker-3');
    assert.match(name, /^prod-east-worker-3-[0-9a-f]{6}$/);
    assert.equal(vmNameFor(cluster, 'worker-3'), name);
    assert.notEqual(vmNameFor({ ...cluster, clusterId: 'cls_0123456789ac' }, 'worker-3'), name);
    assert.equal(nodeOfVmName(cluster, name), 'worker-3');
    assert.equal(nodeOfVmName({ ...cluster, clusterId: 'cls_0123456789ac' }, name), undefined);
    assert.equal(nodeOfVmName(cluster, 'DC0_H0_VM0'), undefined);
    assert.match(clusterFolderName(cluster), /^pcg-prod-east-[0-9a-f]{6}$/);
  });

  it('the longest names stay within 63 characters by shortening the cluster part, and still read back', () => {
    const long = { clusterId: 'cls_0123456789ab', name: 'a'.repeat(19) + '-' + 'b'.repeat(20) };
    const node = 'n'.repeat(35) + '-1234';
    const name = vmNameFor(long, node);
    assert.ok(name.length <= 63, `${name.length}`);
    assert.match(name, /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/);
    assert.equal(nodeOfVmName(long, name), node);
  });

  it('instance UUIDs are UUID v5 of (cluster, node): the same on every run, different per node', () => {
    const a = instanceUuidFor('cls_0123456789ab', 'cp-0');
    assert.match(a, /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.equal(instanceUuidFor('cls_0123456789ab', 'cp-0'), a);
    assert.notEqual(instanceUuidFor('cls_0123456789ab', 'cp-1'), a);
    assert.notEqual(instanceUuidFor('cls_0123456789ac', 'cp-0'), a);
  });
});
