import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
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

interface WizardAnswer { status: number; body: { phase?: string; fingerprint?: string; gateway?: { state?: string } }; fingerprint: string }

/** GET over HTTPS to the forwarded wizard, returning the certificate it presented. */
function getWizardState(port: number): Promise<WizardAnswer> {
  return new Promise((resolve, reject) => {
    // The certificate is self-signed by design; the test checks its fingerprint against the console's.
    let fingerprint = '';
    // agent: false — a fresh TLS connection each time, whose certificate is the one served now.
    const req = request({ host: '127.0.0.1', port, path: '/api/state', rejectUnauthorized: false, timeout: 10_000, agent: false }, (res) => {
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
    req.end();
  });
}

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

describe('the appliance for real: make ova, then boot it under qemu and pair from inside', function () {
  this.timeout(BOOT_TIMEOUT_MS + 120_000);
  const work = tempDir('appliance');
  let relay: RelayProcess | undefined;
  let vm: QemuVm | undefined;
  let entries: string[] = [];
  const serialLog = join(OUTPUT, 'appliance-boot-serial.log');

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

  it('boots (TCG, virtio-scsi, OVF environment CD), pairs with the code from its vApp properties, and serves the wizard', async () => {
    relay = await RelayProcess.start({ args: ['--tls-host', GUEST_FORWARD_ADDRESS, '--heartbeat', '5s'] });
    const tenant = await relay.createTenant('appliance');
    const api = new ApiClient(relay.url, relay.caCert, tenant.apiKey);
    const gateway = await createGateway(api, 'appliance');
    const iso = await makeOvfEnvIso(work.path, {
      'pcg.pairingCode': gateway.pairingCode,
      'pcg.relayUrl': `https://${GUEST_FORWARD_ADDRESS}:${relay.port}`,
      'pcg.caPin': gateway.caPin,
      'pcg.network': 'dhcp',
    });
    const wizardPort = await freePort();
    const started = Date.now();
    vm = await QemuVm.start({
      disk: join(work.path, 'pcg-installer-disk1.vmdk'), cdrom: iso, workDir: work.path, serialLog,
      hostForwards: [{ hostPort: wizardPort, guestPort: 5080 }], guestForwards: [relay.port],
    });
    const serial = () => (existsSync(serialLog) ? readFileSync(serialLog, 'utf8') : '');
    const alive = () => {
      if (vm?.exited) throw new Error(`qemu exited: ${vm.errors}`);
    };

    // The wizard answers on the forwarded port, with the certificate whose fingerprint the console shows.
    const wizard = await waitFor('the wizard on the forwarded port', async () => {
      alive();
      const answer = await getWizardState(wizardPort);
      return answer.status === 200 ? answer : undefined;
    }, BOOT_TIMEOUT_MS, 1000);
    const wizardSeconds = (Date.now() - started) / 1000;
    assert.equal(wizard.body.fingerprint, wizard.fingerprint);
    assert.ok(serial().includes(`first-boot: wizard certificate SHA-256 ${wizard.fingerprint}`), `console shows the fingerprint the wizard serves (${serialLog})`);
    assert.ok(serial().includes('first-boot: OVF environment from cdrom /dev/sr0'), `first boot read the OVF ENV CD (${serialLog})`);
    // The console banner above the login prompt (the serial getty prints it too).
    assert.ok(serial().includes(`Certificate SHA-256: ${wizard.fingerprint}`), `the console banner shows the fingerprint (${serialLog})`);

    // The relay's own API says the gateway inside the VM is online.
    await waitFor('the gateway online in the relay API', async () => {
      alive();
      return (await api.get<{ status: string }>(`/v1/gateways/${gateway.id}`)).body.status === 'online';
    }, BOOT_TIMEOUT_MS - (Date.now() - started), 1000);
    const onlineSeconds = (Date.now() - started) / 1000;
    // The wizard reads the same status.json the gateway writes: it shows it online too.
    await waitFor('the wizard showing the gateway online', async () => (await getWizardState(wizardPort)).body.gateway?.state === 'online', 30_000, 1000);
    assert.ok(!serial().includes(gateway.pairingCode) && !serial().includes(gateway.pairingCode.replace(/-/g, '')), `the pairing code never reaches the logs (${serialLog})`);
    console.log(`      boot to wizard ${wizardSeconds.toFixed(1)} s, to gateway online ${onlineSeconds.toFixed(1)} s (serial log: ${serialLog})`);
  });
});
