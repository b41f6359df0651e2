import { strict as assert } from 'node:assert';
import { readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { spkiPin } from '../../proto/ca-pin.js';
import { checkProxy } from '../../installer-ova/setup/proxy-check.js';
import { checkRelay } from '../../installer-ova/setup/relay-check.js';
import { ConnectProxy } from '../support/connect-proxy.js';
import type { CheckReport } from '../../installer-ova/wizard/wizard-api.js';
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
    assert.match(open.stderr, /^PCG_ERR_CONFIG_INVALID: --config: .*settings-\w+\.json has mode 644 and holds the pairing code; make it 0600/);
    const missing = await lab.setup(dirs, { relayUrl: lab.relay.url, vcenter: { host: 'vc', user: 'u', password: 'p' } });
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /^PCG_ERR_CONFIG_INVALID: .*settings-\w+\.json: pairingCode: expected required property/);
    const wrongType = await lab.setup(dirs, { relayUrl: lab.relay.url, pairingCode: 'AAAA-AAAA-AAAA-AAAA', vcenter: { host: 'vc', user: 'u', password: 7 } });
    assert.equal(wrongType.code, 2);
    assert.match(wrongType.stderr, /settings-\w+\.json: vcenter\.password: expected string/);
    const path = await lab.setup(dirs, { relayUrl: `${lab.relay.url}/portal`, pairingCode: 'AAAA-AAAA-AAAA-AAAA' });
    assert.equal(path.code, 2);
    assert.match(path.stderr, /^PCG_ERR_CONFIG_INVALID: relayUrl: relayUrl: has a path "\/portal"/);
  });
});

describe('installer relay check through an HTTP proxy (real relay, CONNECT proxies on loopback)', function () {
  this.timeout(60_000);
  let lab: InstallerLab;
  let tunnel: ConnectProxy;
  let intercept: ConnectProxy;
  let refusing: Server;
  let refusingUrl: string;

  before(async () => {
    [lab, tunnel, intercept] = await Promise.all([InstallerLab.start(), ConnectProxy.start('tunnel'), ConnectProxy.start('intercept')]);
    refusing = createServer((_req, res) => res.writeHead(405).end());
    refusing.on('connect', (_req, socket: import('node:net').Socket) => socket.end('HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n'));
    await new Promise<void>((resolve) => refusing.listen(0, '127.0.0.1', resolve));
    refusingUrl = `http://127.0.0.1:${(refusing.address() as AddressInfo).port}`;
  });
  after(async () => {
    await Promise.all([lab?.cleanup(), tunnel?.close(), intercept?.close(), new Promise((resolve) => refusing?.close(resolve))]);
  });

  it('reaches the relay through a CONNECT proxy, with the pin checked end to end', async () => {
    const report = await checkRelay({ relayUrl: lab.relay.url, caPin: lab.relay.caPin, proxy: { httpsProxy: tunnel.url } });
    assert.equal(report.ok, true, JSON.stringify(report.error));
    assert.deepEqual(report.steps.map((s) => s.step), ['url', 'proxy', 'connect', 'tls', 'clock']);
    const target = new URL(lab.relay.url).host;
    assert.deepEqual(tunnel.connects, [target, target, target]);
  });

  it('NO_PROXY exempts the relay: DNS and TCP straight to it, the proxy never asked', async () => {
    const before = tunnel.connects.length;
    const report = await checkRelay({ relayUrl: lab.relay.url, caPin: lab.relay.caPin, proxy: { httpsProxy: tunnel.url, noProxy: '127.0.0.1' } });
    assert.deepEqual(report.steps.map((s) => s.step), ['url', 'dns', 'tcp', 'tls', 'clock']);
    assert.equal(tunnel.connects.length, before);
  });

  it('a TLS-inspecting proxy fails the pin: PCG_ERR_TLS_INTERCEPTED naming its CA', async () => {
    const report = await checkRelay({ relayUrl: lab.relay.url, caPin: lab.relay.caPin, proxy: { httpsProxy: intercept.url } });
    assert.deepEqual([report.error?.code, report.error?.field, report.steps.at(-1)?.step], ['PCG_ERR_TLS_INTERCEPTED', 'caPin', 'tls']);
    assert.match(report.error?.message ?? '', /is issued by "O=PCG, CN=Corp Inspection CA"/);
  });

  it('a proxy refusing CONNECT: PCG_ERR_PROXY_UNREACHABLE with its status, from the relay and the proxy checks', async () => {
    const relay = await checkRelay({ relayUrl: lab.relay.url, caPin: lab.relay.caPin, proxy: { httpsProxy: refusingUrl } });
    assert.deepEqual([relay.error?.code, relay.error?.field, relay.steps.at(-1)?.step], ['PCG_ERR_PROXY_UNREACHABLE', 'proxy.httpsProxy', 'connect']);
    assert.match(relay.error?.message ?? '', new RegExp(`^proxy 127\\.0\\.0\\.1:\\d+ refused CONNECT ${new URL(lab.relay.url).host}: HTTP 403 Forbidden`));
    const proxy = await checkProxy({ proxy: { httpsProxy: refusingUrl, proxyCaPem: intercept.caPem }, relayUrl: lab.relay.url });
    assert.deepEqual(proxy.steps.map((s) => `${s.step}:${s.ok}`), ['url:true', 'dns:true', 'tcp:true', 'connect:false']);
    const ok = await checkProxy({ proxy: { httpsProxy: tunnel.url, proxyCaPem: intercept.caPem }, relayUrl: lab.relay.url });
    assert.equal(ok.ok, true, JSON.stringify(ok.error));
    assert.match(ok.steps.at(-1)!.detail, /^CA "O=PCG, CN=Corp Inspection CA"/);
    const notCa = await checkProxy({ proxy: { httpsProxy: tunnel.url, proxyCaPem: 'garbage' }, relayUrl: lab.relay.url });
    assert.deepEqual([notCa.error?.code, notCa.error?.field], ['PCG_ERR_CONFIG_INVALID', 'proxy.proxyCaPem']);
  });
});
