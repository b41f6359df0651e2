import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CheckReport, WizardState } from '../../installer-ova/wizard/wizard-api.js';
import { InstallerLab, type InstallerDirs } from '../support/installer-lab.js';
import { SntpServer } from '../support/installer-sntp-server.js';
import { WizardProcess } from '../support/installer-wizard.js';
import { Vcsim } from '../support/vcsim-fixture.js';
import { waitFor } from '../support/wait-for.js';

const TOKEN = 'TEST1-TOKEN-22222-33333';

describe('installer wizard API over HTTPS (pcg-installer serve, real relay, vcsim)', function () {
  this.timeout(120_000);
  let lab: InstallerLab;
  let vcsim: Vcsim;
  let ntp: SntpServer;
  let skewed: SntpServer;
  let dirs: InstallerDirs;
  let wizard: WizardProcess;
  const wizards: WizardProcess[] = [];
  const start = async (d: InstallerDirs, extra: string[] = []): Promise<WizardProcess> => {
    const w = await WizardProcess.start(d.args, extra);
    wizards.push(w);
    return w;
  };

  before(async () => {
    [lab, vcsim, ntp, skewed] = await Promise.all([InstallerLab.start(), Vcsim.start(), SntpServer.start(), SntpServer.start({ offsetMs: 120_000 })]);
    dirs = lab.dirs();
    const tokenFile = join(dirs.root, 'token');
    writeFileSync(tokenFile, `${TOKEN}\n`, { mode: 0o600 });
    wizard = await start(dirs, ['--setup-token-file', tokenFile]);
  });
  after(async () => {
    for (const w of wizards) await w.stop();
    await Promise.all([lab?.cleanup(), vcsim?.stop(), ntp?.close(), skewed?.close()]);
  });

  it('prints its URL and certificate fingerprint, serves the page and a public state with security headers', async () => {
    assert.match(wizard.url, /^https:\/\/127\.0\.0\.1:\d+$/);
    assert.match(wizard.fingerprint, /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    const page = await wizard.send('GET', '/');
    assert.equal(page.status, 200);
    assert.equal(page.headers['content-type'], 'text/html; charset=utf-8');
    assert.equal(page.text, readFileSync(new URL('../../installer-ova/wizard/static/index.html', import.meta.url), 'utf8'));
    assert.match(String(page.headers['content-security-policy']), /^default-src 'self'; script-src 'self'; style-src 'self';/);
    assert.deepEqual([page.headers['x-content-type-options'], page.headers['x-frame-options'], page.headers['referrer-policy']], ['nosniff', 'DENY', 'no-referrer']);
    const state = await wizard.send<WizardState>('GET', '/api/state');
    assert.equal(state.status, 200);
    assert.equal(state.headers['cache-control'], 'no-store');
    assert.deepEqual(state.body, { phase: 'setup', gateway: { state: 'stopped' }, fingerprint: wizard.fingerprint });
    assert.equal((await wizard.send('GET', '/../../etc/passwd')).status, 404);
    assert.equal((await wizard.send('GET', '/.hidden')).status, 404);
    // The certificate and key are kept in installer-dir, the key 0600.
    assert.equal(statSync(join(dirs.installerDir, 'wizard.key')).mode & 0o777, 0o600);
  });

  it('refuses checks and setup without the token or with a wrong one: 401 PCG_ERR_SETUP_TOKEN', async () => {
    for (const path of ['/api/check/relay', '/api/check/pairing-code', '/api/check/proxy', '/api/check/network', '/api/check/ntp', '/api/check/vcenter', '/api/setup']) {
      const none = await wizard.send<{ code: string }>('POST', path, { body: {} });
      assert.deepEqual([path, none.status, none.body.code], [path, 401, 'PCG_ERR_SETUP_TOKEN']);
      assert.equal(none.headers['cache-control'], 'no-store');
    }
    const wrong = await wizard.send<{ code: string; message: string }>('POST', '/api/check/pairing-code', { token: 'TEST1-TOKEN-22222-33334', body: { pairingCode: 'x' } });
    assert.equal(wrong.status, 401);
    assert.match(wrong.body.message, /^wrong setup token\. Enter the setup token shown on the installer VM's console/);
    assert.ok(!wrong.text.includes(TOKEN));
  });

  it('runs each check with the token: the failure is the answer, named by step, code and field', async () => {
    const gw = await lab.newGateway('wizard-checks');
    const post = async (path: string, body: unknown): Promise<CheckReport> => {
      const res = await wizard.send<CheckReport>('POST', path, { token: TOKEN, body });
      assert.equal(res.status, 200, res.text);
      return res.body;
    };
    const relay = await post('/api/check/relay', { relayUrl: `${lab.relay.url}/`, caPin: gw.caPin });
    assert.equal(relay.ok, true, JSON.stringify(relay.error));
    assert.deepEqual(relay.steps.map((s) => s.step), ['url', 'dns', 'tcp', 'tls', 'clock']);
    assert.deepEqual(relay.normalized, { relayUrl: lab.relay.url });
    assert.ok(Math.abs(Number(relay.facts?.relayOffsetMs)) <= 1500, `relay offset ${relay.facts?.relayOffsetMs}`);

    const code = await post('/api/check/pairing-code', { pairingCode: 'ABCD-EFGH' });
    assert.deepEqual([code.ok, code.error?.code, code.error?.field], [false, 'PCG_ERR_PAIR_CODE_FORMAT', 'pairingCode']);
    assert.equal((await post('/api/check/pairing-code', { pairingCode: gw.pairingCode.toLowerCase() })).ok, true);

    const network = await post('/api/check/network', { mode: 'static', ip: '10.0.0.5', prefix: 24, gateway: '10.0.1.1', dns: ['10.0.0.2'] });
    assert.deepEqual([network.ok, network.error?.code, network.error?.field], [false, 'PCG_ERR_NETWORK_INVALID', 'network.gateway']);

    const proxy = await post('/api/check/proxy', { proxy: { httpsProxy: 'http://127.0.0.1:1' }, relayUrl: lab.relay.url });
    assert.deepEqual([proxy.ok, proxy.error?.code, proxy.error?.field, proxy.steps.at(-1)?.step], [false, 'PCG_ERR_PROXY_UNREACHABLE', 'proxy.httpsProxy', 'tcp']);
    assert.match(proxy.error?.message ?? '', /^cannot reach the proxy at 127\.0\.0\.1:1: ECONNREFUSED/);

    const time = await post('/api/check/ntp', { ntp: { servers: [ntp.address] }, relayUrl: lab.relay.url, caPin: gw.caPin });
    assert.equal(time.ok, true, JSON.stringify(time.error));
    assert.ok(Math.abs(Number(time.facts?.skewMs)) <= 1500, `skew ${time.facts?.skewMs}`);
    const off = await post('/api/check/ntp', { ntp: { servers: [skewed.address] }, relayUrl: lab.relay.url, caPin: gw.caPin });
    assert.deepEqual([off.ok, off.error?.code, off.steps.at(-1)?.step], [false, 'PCG_ERR_CLOCK_SKEW', 'skew']);
    assert.ok(Math.abs(Number(off.facts?.skewMs) - 120_000) <= 1500, `skew ${off.facts?.skewMs}`);

    const unconfirmed = await post('/api/check/vcenter', { host: `https://${vcsim.host}/sdk`, user: vcsim.user, password: vcsim.password });
    assert.deepEqual([unconfirmed.ok, unconfirmed.error?.code, unconfirmed.error?.field], [false, 'PCG_ERR_VCENTER_TLS', 'vcenter.thumbprint']);
    assert.deepEqual([unconfirmed.facts?.thumbprint, unconfirmed.facts?.thumbprintConfirmed], [vcsim.thumbprint, false]);
    assert.ok(!unconfirmed.steps.some((s) => s.step === 'login'), 'no password sent before the thumbprint is confirmed');
    const confirmed = await post('/api/check/vcenter', { host: vcsim.host, user: vcsim.user, password: vcsim.password, thumbprint: String(unconfirmed.facts?.thumbprint).toLowerCase() });
    assert.equal(confirmed.ok, true, JSON.stringify(confirmed.error));
    assert.deepEqual(confirmed.steps.map((s) => s.step), ['address', 'dns', 'tls', 'thumbprint', 'login', 'privileges', 'inventory']);
    assert.match(confirmed.steps[5]!.detail, /^all 17 privileges the gateway needs are granted on the root folder$/);
    const badLogin = await post('/api/check/vcenter', { host: vcsim.host, user: vcsim.user, password: 'nope', thumbprint: vcsim.thumbprint });
    assert.deepEqual([badLogin.error?.code, badLogin.error?.field], ['PCG_ERR_VCENTER_LOGIN', 'vcenter.password']);

    const invalid = await wizard.send<{ code: string; field: string }>('POST', '/api/check/vcenter', { token: TOKEN, body: { host: 'vc', user: 'u', password: 5 } });
    assert.deepEqual([invalid.status, invalid.body.code, invalid.body.field], [400, 'PCG_ERR_BAD_REQUEST', 'vcenter.password']);
  });

  it('sets up once: 409 while it runs, the SSE feed goes pairing → configured with the gateway online, then the token is spent', async () => {
    const gw = await lab.newGateway('wizard-setup');
    const feed = wizard.events();
    try {
      const sse = await feed.headers;
      assert.equal(sse['content-type'], 'text/event-stream; charset=utf-8');
      await waitFor('first state event', () => feed.states.length > 0);
      assert.equal(feed.states[0]!.phase, 'setup');
      const settings = { relayUrl: lab.relay.url, caPin: gw.caPin, pairingCode: gw.pairingCode, ntp: { servers: [ntp.address] } };
      const running = wizard.send<CheckReport>('POST', '/api/setup', { token: TOKEN, body: settings });
      await waitFor('phase pairing', () => feed.states.some((s) => s.phase === 'pairing'));
      const second = await wizard.send<{ code: string }>('POST', '/api/setup', { token: TOKEN, body: settings });
      assert.deepEqual([second.status, second.body.code], [409, 'PCG_ERR_CONFLICT']);
      const done = await running;
      assert.equal(done.status, 200);
      assert.equal(done.body.ok, true, JSON.stringify(done.body.error));
      assert.equal(done.body.facts?.gatewayId, gw.id);
      assert.deepEqual(done.body.steps.slice(-4).map((s) => s.step), ['pair', 'config', 'start', 'online']);
      const last = await waitFor('configured and online on the feed', () => feed.states.find((s) => s.phase === 'configured' && s.gateway.state === 'online'));
      assert.deepEqual([last.gateway.gatewayId, last.gateway.tenantId, last.gateway.relayUrl], [gw.id, lab.tenant.tenantId, lab.relay.url]);
      const phases = feed.states.map((s) => s.phase).filter((p, i, all) => p !== all[i - 1]);
      assert.deepEqual(phases, ['setup', 'pairing', 'configured']);
      assert.equal(await lab.online(gw.id), true);
    } finally {
      feed.close();
    }

    for (const token of [TOKEN, undefined, 'anything']) {
      const res = await wizard.send<{ code: string }>('POST', '/api/check/relay', { ...(token ? { token } : {}), body: { relayUrl: lab.relay.url } });
      assert.deepEqual([res.status, res.body.code], [409, 'PCG_ERR_SETUP_COMPLETE']);
    }
    const state = await wizard.send<WizardState>('GET', '/api/state');
    assert.deepEqual([state.body.phase, state.body.gateway.state, state.body.gateway.gatewayId], ['configured', 'online', gw.id]);

    // A restart of the wizard keeps it that way: the token stays spent, the page is a status page.
    await wizard.stop();
    const again = await start(dirs, ['--setup-token-file', join(dirs.root, 'token')]);
    assert.equal(again.fingerprint, wizard.fingerprint, 'same certificate after a restart');
    const refused = await again.send<{ code: string }>('POST', '/api/setup', { token: TOKEN, body: {} });
    assert.deepEqual([refused.status, refused.body.code], [409, 'PCG_ERR_SETUP_COMPLETE']);
    assert.equal((await again.send<WizardState>('GET', '/api/state')).body.phase, 'configured');
  });

  it('makes a token when none exists (0600, its place named on stderr, never the token) and locks out an address after 10 wrong ones', async () => {
    const fresh = lab.dirs();
    const w = await start(fresh);
    const shown = readFileSync(join(fresh.installerDir, 'setup-token'), 'utf8').trim();
    assert.match(shown, /^\S{16,}$/);
    assert.ok(w.child.stderr.includes(`setup token: made, in ${join(fresh.installerDir, 'setup-token')} (0600)`), w.child.stderr);
    assert.ok(!w.child.stderr.includes(shown), 'the token never reaches stderr');
    assert.equal(statSync(join(fresh.installerDir, 'setup-token')).mode & 0o777, 0o600);
    assert.equal((await w.send('POST', '/api/check/pairing-code', { token: shown, body: { pairingCode: 'AAAA-AAAA-AAAA-AAAA' } })).status, 200);
    for (let i = 0; i < 10; i++) assert.equal((await w.send('POST', '/api/check/pairing-code', { token: `wrong-${i}`, body: {} })).status, 401);
    const locked = await w.send<{ code: string }>('POST', '/api/check/pairing-code', { token: shown, body: { pairingCode: 'AAAA-AAAA-AAAA-AAAA' } });
    assert.deepEqual([locked.status, locked.body.code], [429, 'PCG_ERR_RATE_LIMITED']);
    assert.ok(Number(locked.headers['retry-after']) >= 59 && Number(locked.headers['retry-after']) <= 60, String(locked.headers['retry-after']));
  });

  it('turns into the status page when setup completes outside it (first-boot pairing, pcg-installer setup), without a restart', async () => {
    const shared = lab.dirs();
    const tokenFile = join(shared.root, 'token');
    writeFileSync(tokenFile, `${TOKEN}\n`, { mode: 0o600 });
    const w = await start(shared, ['--setup-token-file', tokenFile]);
    assert.equal((await w.send<WizardState>('GET', '/api/state')).body.phase, 'setup');
    const gw = await lab.newGateway('wizard-elsewhere');
    const cli = await lab.setup(shared, { relayUrl: lab.relay.url, caPin: gw.caPin, pairingCode: gw.pairingCode });
    assert.equal(cli.code, 0, cli.stderr);
    const state = await w.send<WizardState>('GET', '/api/state');
    assert.equal(state.body.phase, 'configured');
    assert.equal(state.body.gateway.gatewayId, gw.id);
    const refused = await w.send<{ code: string }>('POST', '/api/check/relay', { token: TOKEN, body: { relayUrl: lab.relay.url } });
    assert.deepEqual([refused.status, refused.body.code], [409, 'PCG_ERR_SETUP_COMPLETE']);
  });

  it('while another process holds the setup lock: phase pairing and 409 PCG_ERR_CONFLICT; then the unattended setup\'s failure as lastSetup; a stale lock is taken over', async () => {
    const shared = lab.dirs();
    const tokenFile = join(shared.root, 'token');
    writeFileSync(tokenFile, `${TOKEN}\n`, { mode: 0o600 });
    const w = await start(shared, ['--setup-token-file', tokenFile]);
    const gw = await lab.newGateway('wizard-locked');
    const wrong = gw.pairingCode.slice(0, -1) + (gw.pairingCode.endsWith('0') ? '1' : '0');
    const settings = { relayUrl: lab.relay.url, caPin: gw.caPin, pairingCode: wrong };
    const lock = join(shared.installerDir, 'setup.lock');
    const holder = lab.relay.child.proc.pid!;
    writeFileSync(lock, `${holder}\n`);
    assert.equal((await w.send<WizardState>('GET', '/api/state')).body.phase, 'pairing');
    const refused = await w.send<{ code: string; message: string }>('POST', '/api/setup', { token: TOKEN, body: settings });
    assert.deepEqual([refused.status, refused.body.code], [409, 'PCG_ERR_CONFLICT']);
    assert.match(refused.body.message, new RegExp(`^setup is running in process ${holder} \\(the unattended setup from the vApp properties, or pcg-installer setup\\)`));
    rmSync(lock);

    // What pcg-auto-setup.service does: `setup --json` into auto-setup-report.json; here with a wrong code.
    const unattended = await lab.setup(shared, settings, { json: true });
    assert.equal(unattended.code, 1);
    writeFileSync(join(shared.installerDir, 'auto-setup-report.json'), unattended.stdout);
    const state = (await w.send<WizardState>('GET', '/api/state')).body;
    assert.equal(state.phase, 'setup');
    assert.deepEqual(state.lastSetup, { ok: false, error: (JSON.parse(unattended.stdout) as CheckReport).error });
    assert.deepEqual([state.lastSetup?.error?.code, state.lastSetup?.error?.field], ['PCG_ERR_PAIR_CODE_INVALID', 'pairingCode']);

    // A lock left by a process that is gone does not block the form.
    writeFileSync(lock, `${spawnSync(process.execPath, ['-e', '']).pid}\n`);
    assert.equal((await w.send<WizardState>('GET', '/api/state')).body.phase, 'setup');
    const retried = await w.send<CheckReport>('POST', '/api/setup', { token: TOKEN, body: settings });
    assert.deepEqual([retried.status, retried.body.ok, retried.body.error?.code], [200, false, 'PCG_ERR_PAIR_CODE_INVALID']);
    assert.equal(existsSync(lock), false);
  });
});
