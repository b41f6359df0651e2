import { strict as assert } from 'node:assert';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PcgError } from '../../proto/errors.js';
import { NodeTokens } from '../../gateway/nodes/node-tokens.js';
import { CLUSTER_PACKS_FILE, ClusterPackScopes } from '../../gateway/registry/cluster-pack-scopes.js';
import { GatewayRegistryCredentials } from '../../gateway/registry/gateway-registry-credentials.js';
import { CLUSTER_A, CLUSTER_B } from '../support/job-fixtures.js';
import { tempDir } from '../support/temp-dir.js';

describe('registry: cluster pack scopes (what each cluster\'s read token pulls)', () => {
  const dir = tempDir('cluster-pack-scopes');
  after(() => dir.remove());

  it('records a spec\'s pack repositories (deduplicated, sorted), durably (0600), forgets a deleted cluster', async () => {
    const scopes = await ClusterPackScopes.open(dir.path);
    assert.deepEqual(scopes.repositoriesOf(CLUSTER_A), []);
    await Promise.all([
      scopes.record(CLUSTER_A, [{ name: 'ubuntu' }, { name: 'kubernetes' }, { name: 'ubuntu' }]),
      scopes.record(CLUSTER_B, [{ name: 'calico' }]),
    ]);
    assert.deepEqual(scopes.repositoriesOf(CLUSTER_A), ['packs/kubernetes', 'packs/ubuntu']);
    const file = join(dir.path, CLUSTER_PACKS_FILE);
    assert.equal(statSync(file).mode & 0o777, 0o600);
    const reopened = await ClusterPackScopes.open(dir.path);
    assert.deepEqual([reopened.repositoriesOf(CLUSTER_A), reopened.repositoriesOf(CLUSTER_B)], [['packs/kubernetes', 'packs/ubuntu'], ['packs/calico']]);
    await reopened.forget(CLUSTER_A);
    await reopened.forget(CLUSTER_A);
    assert.deepEqual(JSON.parse(readFileSync(file, 'utf8')), { [CLUSTER_B]: ['packs/calico'] });
  });

  it('a cluster\'s token reaches its scope only; a node token, a foreign MAC or no scope port reach nothing', async () => {
    const tokens = await NodeTokens.load(dir.path);
    const scopes = await ClusterPackScopes.open(dir.path);
    await scopes.record(CLUSTER_A, [{ name: 'ubuntu' }]);
    const credentials = await GatewayRegistryCredentials.load({ username: null, passwordFile: null }, tokens, scopes);
    assert.deepEqual(credentials.verifyReadToken(tokens.packReadTokenFor(CLUSTER_A)), ['packs/ubuntu']);
    assert.deepEqual(credentials.verifyReadToken(tokens.packReadTokenFor(CLUSTER_B)), ['packs/calico']);
    assert.deepEqual(credentials.verifyReadToken(tokens.packReadTokenFor('cls_unknown00000')), []);
    assert.equal(credentials.verifyReadToken(tokens.tokenFor(CLUSTER_A, 'cp-0')), undefined, 'a phone-home token is no read token');
    assert.equal(credentials.verifyReadToken(NodeTokens.fromKey(Buffer.alloc(32, 1)).packReadTokenFor(CLUSTER_A)), undefined);
    const unscoped = await GatewayRegistryCredentials.load({ username: null, passwordFile: null }, tokens);
    assert.deepEqual(unscoped.verifyReadToken(tokens.packReadTokenFor(CLUSTER_A)), [], 'fail closed without a scope port');
  });

  it('a damaged file is PCG_ERR_STATE_DIR naming it', async () => {
    const broken = tempDir('cluster-pack-scopes-broken');
    try {
      writeFileSync(join(broken.path, CLUSTER_PACKS_FILE), '{not json', { mode: 0o600 });
      await assert.rejects(ClusterPackScopes.open(broken.path), (err: unknown) => err instanceof PcgError && err.code === 'PCG_ERR_STATE_DIR' && err.message.includes(CLUSTER_PACKS_FILE));
    } finally {
      broken.remove();
    }
  });
});
