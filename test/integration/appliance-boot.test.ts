import { strict as assert } from 'node:assert';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { TLSSocket } from 'node:tls';
import { extract } from 'tar-stream';
import { ApiClient } from '../support/api-client.js';
import { createGateway } from '../support/gateway-fixture.js';
import { makeOvfEnvIso } from '../support/ovf-env-iso.js';
import { GUEST_FORWARD_ADDRESS, QemuVm } from '../support/qemu-vm.js';
import { freePort, RelayProcess } from '../support/relay-fixture.js';
import { tempDir } from '../support/temp-dir.js';
import { waitFor } from '../support/wait-for.js';

/** Made by `make ova` before the tests (the Makefile's test target depends on it). */
const REPO = new URL('../../../', import.meta.url).pathname;
const OVA = join(REPO, '.tmp', 'ova', 'pcg-installer.ova');
const OUTPUT = join(REPO, '.tmp', 'test-output');
/** Boot to wizard and to online, together: TCG on a 2-core machine, slower when it is busy. */
const BOOT_TIMEOUT_MS = 360_000;

interface WizardAnswer { status: number; body: { phase?: string; fingerprint?: string; code?: string; gateway?: { state?: string } }; fingerprint: string }

/** A request to the forwarded wizard over HTTPS, returning the certificate it presented. */
function wizardRequest(port: number, path: string, post?: { body: unknown; token: string }): Promise<WizardAnswer> {
  return new Promise((resolve, reject) => {
    // The certificate is self-signed by design; the test checks its fingerprint against the console's.
    let fingerprint = '';
    const payload = post ? JSON.stringify(post.body) : undefined;
    const headers = post ? { 'content-type': 'application/json', authorization: `Bearer ${post.token}` } : {};
    // agent: false — a fresh TLS connection each time, whose certificate is the one served now.
    const req = request({ host: '127.0.0.1', port, path, method: post ? 'POST' : 'GET', headers, rejectUnauthorized: false, timeout: 10_000, agent: false }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.on('end', () => {
        try {
          resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as WizardAnswer['body'], fingerprint });
        } catch (err) {
          reject(err instanceof Error ? err : new Error(String(err)));
        }
      });
    });
    req.on('socket', (socket) => socket.once('secureConnect', () => (fingerprint = (socket as TLSSocket).getPeerCertificate().fingerprint256)));
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end(payload);
  });
}

const getWizardState = (port: number): Promise<WizardAnswer> => wizardRequest(port, '/api/state');

/** Unpacks the OVA, returning the entry names in archive order. */
async function unpackOva(ova: string, dir: string): Promise<string[]> {
  const names: string[] = [];
  const tar = extract();
  tar.on('entry', (header, stream, next) => {
    names.push(header.name);
    pipeline(stream, createWriteStream(join(dir, header.name))).then(() => next(), next);
  });
  await pipeline(createReadStream(ova), tar);
  return names;
}

async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(path), hash);
  return hash.digest('hex');
}

/**
 * Two boots of one disk, as an admin would: first with only pcg.setupToken set (the wizard takes
 * that token, and no console but tty1 ever shows a token), then a restart after the vApp
 * properties gained a pairing code and the token was edited to one too short: the token in effect
 * is kept (shown on tty1 only, which the test cannot read; the serial console must not show it)
 * and the appliance pairs unattended.
 */
describe('the appliance for real: make ova, then boot it under qemu and pair from inside', function () {
  this.timeout(2 * BOOT_TIMEOUT_MS + 120_000);
  const work = tempDir('appliance');
  let relay: RelayProcess | undefined;
  let vm: QemuVm | undefined;
  let entries: string[] = [];
  const serialLogs = [join(OUTPUT, 'appliance-boot-1-serial.log'), join(OUTPUT, 'appliance-boot-2-serial.log')] as const;
  // A known value: the test cannot read a generated token (it is on tty1 only), but it can look for this one.
  const setupToken = `boot-test-${randomBytes(6).toString('hex')}`;
  const disk = () => join(work.path, 'pcg-installer-disk1.vmdk');
  const serial = (log: string) => (existsSync(log) ? readFileSync(log, 'utf8') : '');
  const alive = () => {
    if (vm?.exited) throw new Error(`qemu exited: ${vm.errors}`);
  };
  const waitForWizard = async (port: number): Promise<WizardAnswer> => waitFor('the wizard on the forwarded port', async () => {
    alive();
    const answer = await getWizardState(port);
    return answer.status === 200 ? answer : undefined;
  }, BOOT_TIMEOUT_MS, 1000);
  const checkPairingCode = (port: number, token: string) => wizardRequest(port, '/api/check/pairing-code', { body: { pairingCode: 'ABCD-EFGH-JKMN-PQRS' }, token });

  before(async function () {
    if (!existsSync(OVA)) throw new Error(`${OVA} is missing: run 'make ova' first (make test does)`);
    mkdirSync(OUTPUT, { recursive: true });
    entries = await unpackOva(OVA, work.path);
  });

  after(async () => {
    await vm?.stop();
    await relay?.stop();
    work.remove();
  });

  it('is a ustar OVA of ovf, mf, vmdk whose manifest matches every file', async () => {
    assert.deepEqual(entries, ['pcg-installer.ovf', 'pcg-installer.mf', 'pcg-installer-disk1.vmdk']);
    const head = readFileSync(OVA).subarray(257, 265);
    assert.equal(head.toString('latin1'), 'ustar\u000000');
    const lines = readFileSync(join(work.path, 'pcg-installer.mf'), 'utf8').trim().split('\n');
    assert.equal(lines.length, 2);
    for (const line of lines) {
      const m = /^SHA256\((.+)\)= ([0-9a-f]{64})$/.exec(line);
      assert.ok(m, `manifest line ${JSON.stringify(line)}`);
      assert.equal(await sha256File(join(work.path, m[1]!)), m[2], `SHA256 of ${m[1]}`);
    }
    const ovf = readFileSync(join(work.path, 'pcg-installer.ovf'), 'utf8');
    assert.match(ovf, /pcg\.pairingCode/);
  });

  it('boots with pcg.setupToken set: the wizard takes that token and no other, and the serial console never shows it', async () => {
    const iso = await makeOvfEnvIso(join(work.path, 'boot-1'), { 'pcg.setupToken': setupToken, 'pcg.network': 'dhcp' });
    const wizardPort = await freePort();
    const started = Date.now();
    vm = await QemuVm.start({ disk: disk(), cdrom: iso, workDir: work.path, serialLog: serialLogs[0], hostForwards: [{ hostPort: wizardPort, guestPort: 5080 }], guestForwards: [] });

    // The wizard answers on the forwarded port, with the certificate whose fingerprint the console shows.
    const wizard = await waitForWizard(wizardPort);
    const wizardSeconds = (Date.now() - started) / 1000;
    assert.equal(wizard.body.fingerprint, wizard.fingerprint);
    assert.equal(wizard.body.phase, 'setup');
    const log = () => serial(serialLogs[0]);
    assert.ok(log().includes(`first-boot: wizard certificate SHA-256 ${wizard.fingerprint}`), `console shows the fingerprint the wizard serves (${serialLogs[0]})`);
    assert.ok(log().includes('first-boot: OVF environment from cdrom /dev/sr0'), `first boot read the OVF ENV CD (${serialLogs[0]})`);
    assert.ok(log().includes('first-boot: setup token from pcg.setupToken (setup-token, 0600)'), `first boot took the vApp token (${serialLogs[0]})`);

    const wrong = await checkPairingCode(wizardPort, 'boot-test-wrong-token');
    assert.deepEqual([wrong.status, wrong.body.code], [401, 'PCG_ERR_SETUP_TOKEN']);
    const right = await checkPairingCode(wizardPort, setupToken);
    assert.equal(right.status, 200, JSON.stringify(right.body));

    // The serial getty's banner (above its login prompt): URL and fingerprint, never a token.
    await waitFor('the serial getty\'s banner', () => log().includes(`Certificate SHA-256: ${wizard.fingerprint}`), 60_000, 500);
    assert.ok(log().includes('Setup token:         the one given in the pcg.setupToken vApp property'), `the serial banner names where the token is (${serialLogs[0]})`);
    assert.ok(!log().includes(setupToken), `the setup token never reaches the serial console (${serialLogs[0]})`);
    assert.doesNotMatch(log(), /Setup token: +[0-9A-Z]{5}-/);
    console.log(`      boot to wizard ${wizardSeconds.toFixed(1)} s (serial log: ${serialLogs[0]})`);
    // Powered off as vSphere would: the guest gets no say.
    await vm.stop();
  });

  it('restarted with a pairing code added and pcg.setupToken edited to a value too short: refuses that by name, keeps the token, pairs unattended, and the banner drops the token once set up', async () => {
    relay = await RelayProcess.start({ args: ['--tls-host', GUEST_FORWARD_ADDRESS, '--heartbeat', '5s'] });
    const tenant = await relay.createTenant('appliance');
    const api = new ApiClient(relay.url, relay.caCert, tenant.apiKey);
    const gateway = await createGateway(api, 'appliance');
    const tooShort = 'Sh0rt-7';
    const iso = await makeOvfEnvIso(join(work.path, 'boot-2'), {
      'pcg.setupToken': tooShort,
      'pcg.pairingCode': gateway.pairingCode,
      'pcg.relayUrl': `https://${GUEST_FORWARD_ADDRESS}:${relay.port}`,
      'pcg.caPin': gateway.caPin,
      'pcg.network': 'dhcp',
    });
    const wizardPort = await freePort();
    const started = Date.now();
    vm = await QemuVm.start({
      disk: disk(), cdrom: iso, workDir: work.path, serialLog: serialLogs[1], reuseOverlay: true,
      hostForwards: [{ hostPort: wizardPort, guestPort: 5080 }], guestForwards: [relay.port],
    });
    const log = () => serial(serialLogs[1]);
    const wizard = await waitForWizard(wizardPort);
    assert.equal(wizard.body.fingerprint, wizard.fingerprint);
    // The certificate made at the first boot is kept: what an admin noted then still holds.
    assert.ok(serial(serialLogs[0]).includes(`first-boot: wizard certificate SHA-256 ${wizard.fingerprint}`), 'same certificate as the first boot');
    // The refused value stops neither the boot nor the unattended setup; the token in effect is kept, and shown on tty1 only.
    const refused = 'setup token: pcg.setupToken is not one the wizard accepts (8 characters at least); the console (tty1) shows the one used instead';
    assert.ok(log().includes(`first-boot: not applied: ${refused}`), `first boot names the refused property (${serialLogs[1]})`);
    assert.ok(log().includes('first-boot: setup token kept (setup-token, 0600)'), `first boot kept the token (${serialLogs[1]})`);
    assert.ok(log().includes('first-boot: auto-setup prepared for'), `first boot prepared the unattended setup (${serialLogs[1]})`);

    // The relay's own API says the gateway inside the VM is online.
    await waitFor('the gateway online in the relay API', async () => {
      alive();
      return (await api.get<{ status: string }>(`/v1/gateways/${gateway.id}`)).body.status === 'online';
    }, BOOT_TIMEOUT_MS - (Date.now() - started), 1000);
    const onlineSeconds = (Date.now() - started) / 1000;
    // The wizard reads the same status.json the gateway writes: it shows it online too.
    await waitFor('the wizard showing the gateway online', async () => (await getWizardState(wizardPort)).body.gateway?.state === 'online', 30_000, 1000);
    const spent = await checkPairingCode(wizardPort, setupToken);
    assert.deepEqual([spent.status, spent.body.code], [409, 'PCG_ERR_SETUP_COMPLETE']);
    // The serial getty's banner before setup said where the token is, and why the property was not used;
    // then the wizard rewrote the banners and reloaded the gettys, and it printed the new one.
    assert.ok(log().includes("Setup token:         on the VM's own console (vSphere console, tty1) only"), `the serial banner points at tty1 (${serialLogs[1]})`);
    assert.ok(log().includes(`Not applied: ${refused}`), `the serial banner names the refused property (${serialLogs[1]})`);
    await waitFor('the serial getty reprinting the banner without a token', () => log().includes('Set up. Gateway status page: https://'), 60_000, 500);
    for (const secret of [setupToken, tooShort, gateway.pairingCode, gateway.pairingCode.replace(/-/g, '')]) {
      assert.ok(!log().includes(secret), `no secret reaches the serial console (${serialLogs[1]})`);
    }
    console.log(`      restart to gateway online ${onlineSeconds.toFixed(1)} s (serial log: ${serialLogs[1]})`);
  });
});
