import { strict as assert } from 'node:assert';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadGatewayConfig } from '../../gateway/config/gateway-config.js';
import { GatewayRegistryCredentials } from '../../gateway/registry/gateway-registry-credentials.js';
import { PcgError } from '../../proto/errors.js';
import { tempDir } from '../support/temp-dir.js';

const NO_READ_TOKENS = { verifyPackToken: (token: string) => (token === 'cluster-1.good' ? 'cluster-1' : undefined) };

describe('registry: gateway configuration and credentials', () => {
  const dir = tempDir('registry-config');
  after(() => dir.remove());

  it('registry.* defaults: enabled, no admin account; flags and environment set them; username and passwordFile go together', () => {
    assert.deepEqual(loadGatewayConfig([], {}).registry, { enabled: true, username: null, passwordFile: null });
    assert.deepEqual(loadGatewayConfig(['--registry-enabled=false', '--registry-username=admin', '--registry-password-file=/etc/pw'], {}).registry,
      { enabled: false, username: 'admin', passwordFile: '/etc/pw' });
    assert.deepEqual(loadGatewayConfig([], { PCG_REGISTRY_USERNAME: 'ops', PCG_REGISTRY_PASSWORD_FILE: '/p' }).registry, { enabled: true, username: 'ops', passwordFile: '/p' });
    assert.throws(() => loadGatewayConfig(['--registry-username=admin'], {}), (err: unknown) =>
      err instanceof PcgError && err.code === 'PCG_ERR_CONFIG_INVALID' && /registry\.username and registry\.passwordFile/.test(err.message));
  });

  it('the admin password file must be 0600; the admin gets every action, a read token pulls everything, nothing else passes', async () => {
    const file = join(dir.path, 'pw');
    writeFileSync(file, 's3cret\n', { mode: 0o644 });
    chmodSync(file, 0o644);
    await assert.rejects(GatewayRegistryCredentials.load({ username: 'admin', passwordFile: file }, NO_READ_TOKENS), (err: unknown) =>
      err instanceof PcgError && err.code === 'PCG_ERR_CONFIG_INVALID' && /mode 644; make it 0600/.test(err.message));
    chmodSync(file, 0o600);
    const credentials = await GatewayRegistryCredentials.load({ username: 'admin', passwordFile: file }, NO_READ_TOKENS);
    assert.deepEqual(await credentials.authenticate('admin', 's3cret'), [{ repository: '*', actions: ['pull', 'push', 'delete'] }]);
    assert.equal(await credentials.authenticate('admin', 's3cret\n'), undefined);
    assert.equal(await credentials.authenticate('root', 's3cret'), undefined);
    assert.deepEqual(credentials.verifyReadToken('cluster-1.good'), [], 'a cluster with no packs recorded pulls nothing');
    assert.equal(credentials.verifyReadToken('cluster-1.bad'), undefined);
    const none = await GatewayRegistryCredentials.load({ username: null, passwordFile: null }, NO_READ_TOKENS);
    assert.equal(await none.authenticate('', ''), undefined);
  });
});
