import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { spkiPin } from '../../proto/ca-pin.js';
import { ProcessLauncher } from '../../installer-ova/setup/process-launcher.js';
import { runSetup } from '../../installer-ova/setup/setup-runner.js';
import { ConnectProxy } from '../support/connect-proxy.js';
import type { CheckReport } from '../../installer-ova/wizard/wizard-api.js';
import { INSTALLER_CLI, runCli } from '../support/child.js';
import { InstallerLab } from '../support/installer-lab.js';
import { SntpServer } from '../support/installer-sntp-server.js';
import { Vcsim } from '../support/vcsim-fixture.js';

describe('pcg-installer setup --config (real relay, vcsim, gateway)', function () {
  this.timeout(120_000);
  let lab: InstallerLab;
  let vcsim: Vcsim;
  let ntp: SntpServer;

  before(async () => {
    [lab, vcsim, ntp] = await Promise.all([InstallerLab.start(), Vcsim.start(), SntpServer.start()]);
  });
  afterEach(async () => lab.stopGateways());
  after(async () => {
    await Promise.all([lab?.cleanup(), vcsim?.stop(), ntp?.close()]);
  });

  const vcenter = (password = vcsim.password) => ({ host: vcsim.host, user: vcsim.user, password, thumbprint: vcsim.thumbprint });

  it('happy path: every check, pairs, writes the configuration, starts the gateway, and the relay shows it online', async () => {
    const gw = await lab.newGateway('setup-happy');
    const dirs = lab.dirs();
    const out = await lab.setup(dirs, {
      relayUrl: lab.relay.url, caPin: gw.caPin, pairingCode: gw.pairingCode,
      network: { mode: 'static', ip: '10.20.0.5', prefix: 24, gateway: '10.20.0.1', dns: ['10.20.0.2'] },
      ntp: { servers: [ntp.address] },
      vcenter: vcenter(),
    });
    assert.equal(out.code, 0, out.stderr + out.stdout);
    assert.equal(out.stderr, '');
    const steps = out.stdout.trim().split('\n').map((l) => l.split(/\s+/).slice(0, 2).join(' '));
    assert.deepEqual(steps, [
      'ok relay.url', 'ok relay.dns', 'ok relay.tcp', 'ok relay.tls', 'ok relay.clock', 'ok pairing.format',
      'ok network.ip', 'ok network.prefix', 'ok network.subnet', 'ok network.gateway', 'ok network.dns',
      'ok ntp.ntp', 'ok ntp.skew',
      'ok vcenter.address', 'ok vcenter.dns', 'ok vcenter.tls', 'ok vcenter.thumbprint', 'ok vcenter.login', 'ok vcenter.privileges', 'ok vcenter.inventory',
      'ok pair', 'ok config', 'ok start', 'ok online', `gateway ${gw.id}`,
    ]);
    assert.ok(!out.stdout.includes(gw.pairingCode) && !out.stdout.includes(vcsim.password), 'no secret printed');
    assert.equal(await lab.online(gw.id), true);

    const etc = dirname(dirs.configFile);
    assert.deepEqual(InstallerLab.files(etc), ['gateway.env', 'gateway.json', 'vcenter.password']);
    assert.deepEqual(JSON.parse(readFileSync(dirs.configFile, 'utf8')), {
      stateDir: dirs.stateDir,
      relay: { url: lab.relay.url, caPin: gw.caPin, caFile: '' },
      vcenter: { host: vcsim.host, user: vcsim.user, passwordFile: join(etc, 'vcenter.password'), thumbprint: vcsim.thumbprint },
    });
    assert.equal(readFileSync(join(etc, 'vcenter.password'), 'utf8'), vcsim.password);
    for (const f of ['gateway.json', 'vcenter.password', 'gateway.env']) assert.equal(statSync(join(etc, f)).mode & 0o777, 0o600, f);
    assert.equal(readFileSync(join(etc, 'gateway.env'), 'utf8'), '');
    assert.deepEqual(InstallerLab.files(dirs.installerDir), ['gateway.log', 'gateway.pid', 'setup-complete.json']);
    const record = JSON.parse(readFileSync(join(dirs.installerDir, 'setup-complete.json'), 'utf8')) as Record<string, string>;
    assert.deepEqual([record.gatewayId, record.tenantId, record.relayUrl], [gw.id, lab.tenant.tenantId, lab.relay.url]);

    // Setup is done: running it again is refused, whatever the code.
    const again = await lab.setup(dirs, { relayUrl: lab.relay.url, caPin: gw.caPin, pairingCode: gw.pairingCode });
    assert.equal(again.code, 1);
    assert.match(again.stderr, /^PCG_ERR_SETUP_COMPLETE: setup already completed/);
  });

  it('an endpoint typed with a trailing slash is normalised, paired and comes online', async () => {
    const gw = await lab.newGateway('setup-slash');
    const dirs = lab.dirs();
    const out = await lab.setup(dirs, { relayUrl: `${lab.relay.url}/`, caPin: gw.caPin, pairingCode: gw.pairingCode }, { json: true });
    assert.equal(out.code, 0, out.stderr + out.stdout);
    const report = JSON.parse(out.stdout) as CheckReport;
    assert.equal(report.ok, true);
    assert.equal(report.normalized?.relayUrl, lab.relay.url);
    assert.equal(report.steps[0]?.detail, `${lab.relay.url} (removed the trailing slash)`);
    assert.equal(report.facts?.gatewayId, gw.id);
    assert.equal(JSON.parse(readFileSync(join(dirs.stateDir, 'identity.json'), 'utf8')).relayUrl, lab.relay.url);
    assert.equal(JSON.parse(readFileSync(dirs.configFile, 'utf8')).relay.url, lab.relay.url);
    assert.equal(await lab.online(gw.id), true);
  });

  it('a wrong pairing code: exit 1, PCG_ERR_PAIR_CODE_INVALID, state dir untouched, nothing written', async () => {
    const gw = await lab.newGateway('setup-wrong-code');
    const wrong = gw.pairingCode.slice(0, -1) + (gw.pairingCode.endsWith('0') ? '1' : '0');
    const dirs = lab.dirs();
    const out = await lab.setup(dirs, { relayUrl: lab.relay.url, caPin: gw.caPin, pairingCode: wrong });
    assert.equal(out.code, 1, out.stdout);
    assert.match(out.stderr, /^PCG_ERR_PAIR_CODE_INVALID: pairingCode: /);
    assert.match(out.stdout, /\nFAIL pair {17}/);
    assert.ok(!out.stderr.includes(wrong) && !out.stdout.includes(wrong), 'the code is never printed');
    assert.deepEqual(InstallerLab.files(dirs.stateDir), []);
    assert.deepEqual(InstallerLab.files(dirname(dirs.configFile)), []);
    assert.deepEqual(InstallerLab.files(dirs.installerDir), []);
    assert.equal(await lab.gatewayStatus(gw.id), 'pending-pairing');
  });

  it('a CA pin of another CA: PCG_ERR_TLS_INTERCEPTED naming the issuer that answered, nothing written', async () => {
    const gw = await lab.newGateway('setup-wrong-pin');
    const otherPin = spkiPin(vcsim.certificate);
    const dirs = lab.dirs();
    const out = await lab.setup(dirs, { relayUrl: lab.relay.url, caPin: otherPin, pairingCode: gw.pairingCode }, { json: true });
    assert.equal(out.code, 1);
    const report = JSON.parse(out.stdout) as CheckReport;
    assert.deepEqual(report.steps.map((s) => `${s.step}:${s.ok}`), ['relay.url:true', 'relay.dns:true', 'relay.tcp:true', 'relay.tls:false']);
    assert.equal(report.error?.code, 'PCG_ERR_TLS_INTERCEPTED');
    assert.equal(report.error?.field, 'caPin');
    assert.match(report.error?.message ?? '', new RegExp(`is issued by ".*", not by the pinned relay CA ${otherPin.replace(/[+/]/g, '\\$&')}`));
    assert.match(out.stderr, /^PCG_ERR_TLS_INTERCEPTED: caPin: the certificate presented for 127\.0\.0\.1 is issued by /);
    assert.deepEqual([InstallerLab.files(dirs.stateDir), InstallerLab.files(dirname(dirs.configFile))], [[], []]);
  });

  it('a wrong vCenter password: PCG_ERR_VCENTER_LOGIN on vcenter.password, before pairing', async () => {
    const gw = await lab.newGateway('setup-wrong-vc');
    const dirs = lab.dirs();
    const out = await lab.setup(dirs, { relayUrl: lab.relay.url, caPin: gw.caPin, pairingCode: gw.pairingCode, vcenter: vcenter('not-the-password') }, { json: true });
    assert.equal(out.code, 1);
    const report = JSON.parse(out.stdout) as CheckReport;
    assert.equal(report.error?.code, 'PCG_ERR_VCENTER_LOGIN');
    assert.equal(report.error?.field, 'vcenter.password');
    assert.deepEqual(report.steps.at(-1), { step: 'vcenter.login', ok: false, detail: `vCenter refused user ${vcsim.user} or its password` });
    assert.match(out.stderr, /^PCG_ERR_VCENTER_LOGIN: vcenter.password: vCenter refused user/);
    assert.ok(!out.stdout.includes('not-the-password') && !out.stderr.includes('not-the-password'));
    assert.deepEqual([InstallerLab.files(dirs.stateDir), InstallerLab.files(dirname(dirs.configFile))], [[], []]);
    assert.equal(await lab.gatewayStatus(gw.id), 'pending-pairing');
  });

  it('bad settings exit 2 naming the cause: file readable by others, a field missing or of the wrong type, a relay URL with a path', async () => {
    const dirs = lab.dirs();
    const open = await lab.setup(dirs, { relayUrl: lab.relay.url, pairingCode: 'AAAA-AAAA-AAAA-AAAA' }, { mode: 0o644 });
    assert.equal(open.code, 2);
    assert.match(open.stderr, /^PCG_ERR_CONFIG_INVALID: --config: .*settings-\w+\.json has mode 644; make it 0600/);
    const missing = await lab.setup(dirs, { relayUrl: lab.relay.url, vcenter: { host: 'vc', user: 'u', password: 'p' } });
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /^PCG_ERR_CONFIG_INVALID: .*settings-\w+\.json: pairingCode: expected required property/);
    const wrongType = await lab.setup(dirs, { relayUrl: lab.relay.url, pairingCode: 'AAAA-AAAA-AAAA-AAAA', vcenter: { host: 'vc', user: 'u', password: 7 } });
    assert.equal(wrongType.code, 2);
    assert.match(wrongType.stderr, /settings-\w+\.json: vcenter\.password: expected string/);
    const path = await lab.setup(dirs, { relayUrl: `${lab.relay.url}/portal`, pairingCode: 'AAAA-AAAA-AAAA-AAAA' });
    assert.equal(path.code, 2);
    assert.match(path.stderr, /^PCG_ERR_CONFIG_INVALID: relayUrl: relayUrl: has a path "\/portal"/);
    // A quote forgotten before the password: the place is named, the text around it never (Node's own message quotes it).
    const broken = join(dirs.root, 'broken.json');
    writeFileSync(broken, '{\n  "relayUrl": "https://relay.example.com",\n  "pairingCode": "AAAA-AAAA-AAAA-AAAA",\n  "vcenter": { "password": hunter2sec" }\n}\n', { mode: 0o600 });
    const syntax = await runCli(INSTALLER_CLI, ['setup', '--config', broken, ...dirs.args]);
    assert.equal(syntax.code, 2);
    assert.equal(syntax.stderr, `PCG_ERR_CONFIG_INVALID: --config: ${broken} is not JSON (syntax error at line 4, column 28). Fix the named configuration key (file, PCG_* environment variable or flag).\n`);
  });

  it('a failure at online stops the gateway; a retry with corrected settings resumes the pairing (the new code unused) and runs one gateway, online; another relay is refused on relayUrl', async () => {
    const gw = await lab.newGateway('setup-retry');
    const unused = await lab.newGateway('setup-retry-unused');
    const dirs = lab.dirs();
    const options = { installerDir: dirs.installerDir, gatewayStateDir: dirs.stateDir, gatewayConfig: dirs.configFile, launcher: new ProcessLauncher(dirs.installerDir) };
    // The proxy carries the checks and the pairing, then goes away: the gateway configured with it cannot reach the relay.
    const proxy = await ConnectProxy.start('tunnel');
    const proxyUrl = proxy.url;
    let first: CheckReport;
    try {
      first = await runSetup({ relayUrl: lab.relay.url, caPin: gw.caPin, pairingCode: gw.pairingCode, proxy: { httpsProxy: proxyUrl } }, {
        ...options, onlineTimeoutMs: 3_000, onPhase: (phase) => {
          if (phase === 'starting') void proxy.close();
        },
      });
    } finally {
      await proxy.close();
    }
    assert.deepEqual([first.ok, first.error?.code, first.steps.at(-1)?.step, first.steps.at(-1)?.ok], [false, 'PCG_ERR_GATEWAY_OFFLINE', 'online', false]);
    assert.equal(first.steps.find((s) => s.step === 'pair')?.detail, `paired as gateway ${gw.id} (tenant ${lab.tenant.tenantId})`);
    assert.deepEqual(InstallerLab.gatewayProcesses(dirs.configFile), [], 'the gateway of the failed attempt is stopped');
    assert.ok(existsSync(join(dirs.stateDir, 'identity.json')), 'the identity is kept: the code is spent');
    assert.equal(existsSync(join(dirs.installerDir, 'setup-complete.json')), false);

    const otherRelay = `https://localhost:${lab.relay.port}`;
    const moved = await runSetup({ relayUrl: otherRelay, caPin: gw.caPin, pairingCode: unused.pairingCode }, options);
    assert.deepEqual([moved.error?.code, moved.error?.field, moved.steps.at(-1)?.step], ['PCG_ERR_ALREADY_PAIRED', 'relayUrl', 'pair']);
    assert.ok(moved.error?.message.startsWith(`this appliance is already paired as ${gw.id} with ${lab.relay.url}, not ${otherRelay}; enter ${lab.relay.url} to finish its setup, `
      + `or deploy a fresh appliance (or empty ${dirs.stateDir} on purpose) to pair with another relay`), moved.error?.message);
    assert.deepEqual(InstallerLab.gatewayProcesses(dirs.configFile), []);

    const retry = await runSetup({ relayUrl: lab.relay.url, caPin: gw.caPin, pairingCode: unused.pairingCode }, options);
    assert.equal(retry.ok, true, JSON.stringify(retry.error));
    assert.equal(retry.steps.find((s) => s.step === 'pair')?.detail,
      `already paired as ${gw.id} with ${lab.relay.url} (tenant ${lab.tenant.tenantId}); the code entered was not used`);
    const running = InstallerLab.gatewayProcesses(dirs.configFile);
    assert.deepEqual(running, [options.launcher.pid]);
    assert.equal(readFileSync(join(dirs.installerDir, 'gateway.pid'), 'utf8'), `${running[0]}\n`);
    assert.equal(readFileSync(join(dirs.configFile), 'utf8').includes(proxyUrl), false, 'the corrected configuration');
    assert.equal(await lab.online(gw.id), true);
    assert.equal(await lab.gatewayStatus(unused.id), 'pending-pairing', 'the code entered on the retry was not spent');

    // A launcher that did not start it (a restarted wizard) still replaces the gateway in gateway.pid, never adds one.
    const again = new ProcessLauncher(dirs.installerDir);
    await again.start({ configFile: dirs.configFile, env: {} });
    assert.deepEqual(InstallerLab.gatewayProcesses(dirs.configFile), [again.pid]);
    assert.notEqual(again.pid, running[0]);
    assert.equal(await lab.online(gw.id), true);
  });

  it('one setup at a time: a lock held by a live process is PCG_ERR_CONFLICT with nothing written; a stale one is taken over', async () => {
    const gw = await lab.newGateway('setup-locked');
    const dirs = lab.dirs();
    const settings = { relayUrl: lab.relay.url, caPin: gw.caPin, pairingCode: gw.pairingCode };
    mkdirSync(dirs.installerDir, { recursive: true });
    const holder = lab.relay.child.proc.pid!;
    writeFileSync(join(dirs.installerDir, 'setup.lock'), `${holder}\n`);
    const locked = await lab.setup(dirs, settings);
    assert.equal(locked.code, 1);
    assert.match(locked.stderr, new RegExp(`^PCG_ERR_CONFLICT: setup is already running \\(process ${holder}: the unattended setup, the wizard or pcg-installer setup\\); wait for its result`));
    assert.deepEqual([InstallerLab.files(dirs.installerDir), InstallerLab.files(dirs.stateDir)], [['setup.lock'], []]);
    assert.equal(await lab.gatewayStatus(gw.id), 'pending-pairing');

    // The process that held it is gone (killed, power lost): the next setup takes the lock over and completes.
    const dead = spawnSync(process.execPath, ['-e', '']).pid;
    writeFileSync(join(dirs.installerDir, 'setup.lock'), `${dead}\n`);
    const taken = await lab.setup(dirs, settings);
    assert.equal(taken.code, 0, taken.stderr);
    assert.deepEqual(InstallerLab.files(dirs.installerDir), ['gateway.log', 'gateway.pid', 'setup-complete.json'], 'the lock is released');
    assert.equal(await lab.online(gw.id), true);
  });
});
