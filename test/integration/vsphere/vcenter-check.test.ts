import { strict as assert } from 'node:assert';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { GATEWAY_CLI, runCli } from '../../support/child.js';
import { tempDir } from '../../support/temp-dir.js';
import { Vcsim } from '../../support/vcsim-fixture.js';

describe('pcg-gateway vcenter check (against vcsim)', function () {
  this.timeout(60_000);
  let vcsim: Vcsim;
  const dir = tempDir('vc-check');
  const passwordFile = join(dir.path, 'vc-password');
  const args = (over: { thumbprint?: string; passwordFile?: string } = {}) => ['vcenter', 'check', '--json', '--state-dir', dir.path,
    '--vcenter-host', vcsim.host, '--vcenter-user', vcsim.user, '--vcenter-password-file', over.passwordFile ?? passwordFile,
    '--vcenter-thumbprint', over.thumbprint ?? vcsim.thumbprint];

  before(async () => {
    vcsim = await Vcsim.start({ dc: 2, cluster: 1, clusterHost: 2, host: 1, vm: 2, ds: 2, pg: 1, template: 1 });
    writeFileSync(passwordFile, `${vcsim.password}\n`, { mode: 0o600 });
  });
  after(async () => {
    await vcsim.stop();
    dir.remove();
  });

  it('prints version, datacenters and counts that match the model', async () => {
    const out = await runCli(GATEWAY_CLI, args());
    assert.equal(out.code, 0, out.stderr);
    const c = vcsim.counts;
    assert.deepEqual(JSON.parse(out.stdout), {
      ok: true, version: '6.5.0', datacenters: ['DC0', 'DC1'],
      counts: { vm: c.vm, host: c.host, datastore: c.datastore, network: c.network, template: c.template },
    });
  });

  it('trusts a CA file instead of a thumbprint, and refuses an untrusted certificate without one', async () => {
    const caFile = join(dir.path, 'vcsim-ca.pem');
    writeFileSync(caFile, vcsim.certificate);
    const base = ['vcenter', 'check', '--json', '--vcenter-host', vcsim.host, '--vcenter-user', vcsim.user, '--vcenter-password-file', passwordFile];
    const trusted = await runCli(GATEWAY_CLI, [...base, '--vcenter-ca-file', caFile]);
    assert.equal(trusted.code, 0, trusted.stderr);
    assert.equal((JSON.parse(trusted.stdout) as { ok: boolean }).ok, true);
    const untrusted = await runCli(GATEWAY_CLI, base);
    assert.equal((JSON.parse(untrusted.stdout) as { code: string }).code, 'PCG_ERR_VCENTER_TLS');
  });

  it('a thumbprint mismatch names expected and actual', async () => {
    const wrong = `${'00:'.repeat(31)}00`;
    const out = await runCli(GATEWAY_CLI, args({ thumbprint: wrong }));
    assert.equal(out.code, 1);
    const result = JSON.parse(out.stdout) as { ok: boolean; code: string; message: string };
    assert.equal(result.code, 'PCG_ERR_VCENTER_TLS');
    assert.ok(result.message.includes(`expected ${wrong}, got ${vcsim.thumbprint}`));
  });

  it('a wrong password is InvalidLogin and is never printed', async () => {
    const wrongFile = join(dir.path, 'wrong');
    writeFileSync(wrongFile, 'Not-The-Password-42', { mode: 0o600 });
    const out = await runCli(GATEWAY_CLI, args({ passwordFile: wrongFile }));
    assert.equal(out.code, 1);
    assert.match(out.stderr, /^PCG_ERR_VCENTER_LOGIN: Login: InvalidLogin: /);
    assert.ok(!(out.stdout + out.stderr).includes('Not-The-Password-42'));
  });

  it('DNS failure and a world-readable password file are named', async () => {
    const dns = await runCli(GATEWAY_CLI, ['vcenter', 'check', '--vcenter-host', 'vcenter.invalid', '--vcenter-user', 'u', '--vcenter-password-file', passwordFile, '--vcenter-thumbprint', vcsim.thumbprint]);
    assert.match(dns.stderr, /^PCG_ERR_VCENTER_UNREACHABLE: DNS lookup of vcenter\.invalid failed/);
    const loose = join(dir.path, 'loose');
    writeFileSync(loose, 'x');
    chmodSync(loose, 0o644);
    const perms = await runCli(GATEWAY_CLI, ['vcenter', 'check', '--vcenter-host', vcsim.host, '--vcenter-user', 'u', '--vcenter-password-file', loose]);
    assert.match(perms.stderr, /^PCG_ERR_CONFIG_INVALID: vcenter\.passwordFile: .* has mode 644; make it 0600/);
  });
});
