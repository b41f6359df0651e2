import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { APPLIANCE_PATHS } from '../../installer-ova/appliance/appliance-paths.js';
import { TTY1_ISSUE_FILE, writeConfiguredConsoleIssues } from '../../installer-ova/guest/console-issue.js';
import { formatOvfEnvironment } from '../../installer-ova/guest/ovf-environment.js';
import { readTokenFile } from '../../installer-ova/setup/setup-token.js';
import { INSTALLER_CLI, runCli } from '../support/child.js';
import { tempDir } from '../support/temp-dir.js';

const modeOf = (path: string): string => (statSync(path).mode & 0o777).toString(8);
const read = (path: string): string => readFileSync(path, 'utf8');
/** The image's root file system overlay, in the source tree beside the compiled tests. */
const OVERLAY = new URL('../../../installer-ova/image/rootfs/', import.meta.url).pathname;

/**
 * `pcg-installer first-boot --ovf-env FILE --root DIR` on the host: every file the appliance's
 * first boot writes lands under DIR, so the whole apply step is checked without a VM.
 */
describe('pcg-installer first-boot (guest apply, under --root)', function () {
  this.timeout(30_000);
  const dirs: Array<{ remove: () => void }> = [];
  after(() => dirs.forEach((d) => d.remove()));

  function appliance(): { root: string; envFile: (values: Record<string, string>) => string; run: (env: string) => ReturnType<typeof runCli> } {
    const dir = tempDir('first-boot');
    dirs.push(dir);
    const root = join(dir.path, 'root');
    mkdirSync(join(root, 'etc'), { recursive: true });
    // The image's pcg user, owned by whoever runs the test so chown works unprivileged too.
    writeFileSync(join(root, 'etc', 'passwd'), `root:x:0:0:root:/root:/bin/bash\npcg:x:${process.getuid!()}:${process.getgid!()}::/home/pcg:/bin/bash\n`);
    return {
      root,
      envFile: (values) => {
        const file = join(dir.path, `env-${Math.random().toString(36).slice(2)}.xml`);
        writeFileSync(file, formatOvfEnvironment(values));
        return file;
      },
      run: (env) => runCli(INSTALLER_CLI, ['first-boot', '--ovf-env', env, '--root', root]),
    };
  }

  it('applies static addressing, NTP, proxy and SSH key; makes the token, certificate, banner and auto-setup file', async () => {
    const a = appliance();
    const pem = '-----BEGIN CERTIFICATE-----\nMIIBproxyCA\n-----END CERTIFICATE-----';
    const out = await a.run(a.envFile({
      'pcg.network': 'static', 'pcg.ip': '10.20.0.5', 'pcg.prefix': '22', 'pcg.gateway': '10.20.0.1', 'pcg.dns': '10.20.0.2, 10.20.0.3',
      'pcg.ntp': 'ntp1.example.com,10.20.0.9', 'pcg.httpsProxy': 'http://user:secret@proxy.example.com:3128', 'pcg.noProxy': '.corp,10.0.0.0/8',
      'pcg.proxyCa': Buffer.from(pem).toString('base64'), 'pcg.sshKey': 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGx admin@laptop',
      'pcg.pairingCode': 'ABCD-EFGH-JKMN-PQRS', 'pcg.relayUrl': 'https://relay.example.com', 'pcg.caPin': 'sha256/pin',
    }));
    assert.equal(out.code, 0, out.stderr);
    const r = (p: string) => join(a.root, p);
    assert.equal(read(r('etc/systemd/network/10-pcg-static.network')), [
      '# Written by pcg-first-boot from the vApp properties (pcg.network=static).',
      '[Match]', 'Name=en* eth*', '', '[Network]', 'Address=10.20.0.5/22', 'Gateway=10.20.0.1', 'DNS=10.20.0.2', 'DNS=10.20.0.3', '',
    ].join('\n'));
    assert.equal(read(r('etc/systemd/timesyncd.conf.d/50-pcg.conf')), '# Written by pcg-first-boot from pcg.ntp.\n[Time]\nNTP=ntp1.example.com 10.20.0.9\n');
    assert.equal(read(r('etc/pcg/vapp-proxy.env')), 'HTTPS_PROXY="http://user:secret@proxy.example.com:3128"\nNO_PROXY=".corp,10.0.0.0/8"\n');
    assert.equal(modeOf(r('etc/pcg/vapp-proxy.env')), '600');
    assert.equal(read(r('etc/pcg/vapp-proxy-ca.pem')), `${pem}\n`);
    assert.equal(read(r('home/pcg/.ssh/authorized_keys')), 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGx admin@laptop\n');
    assert.equal(modeOf(r('home/pcg/.ssh/authorized_keys')), '600');
    assert.equal(modeOf(r('home/pcg/.ssh')), '700');

    const installer = r('var/lib/pcg-installer');
    assert.equal(modeOf(join(installer, 'ovf-env.xml')), '600');
    assert.equal(modeOf(join(installer, 'setup-token')), '600');
    const token = read(join(installer, 'setup-token')).trim();
    assert.match(token, /^[0-9A-Z]{5}(-[0-9A-Z]{5}){3}$/);
    const settings = JSON.parse(read(join(installer, 'auto-setup.json')));
    assert.equal(modeOf(join(installer, 'auto-setup.json')), '600');
    assert.deepEqual(settings, {
      relayUrl: 'https://relay.example.com', pairingCode: 'ABCD-EFGH-JKMN-PQRS', caPin: 'sha256/pin',
      proxy: { httpsProxy: 'http://user:secret@proxy.example.com:3128', noProxy: '.corp,10.0.0.0/8', proxyCaPem: pem },
      network: { mode: 'static', ip: '10.20.0.5', prefix: 22, gateway: '10.20.0.1', dns: ['10.20.0.2', '10.20.0.3'] },
      ntp: { servers: ['ntp1.example.com', '10.20.0.9'] },
    });

    // The token on tty1's banner only (0600); the one every other getty reads, the serial one too, never has it.
    const banner = read(r('run/issue.d/50-pcg.issue'));
    const fingerprint = /Certificate SHA-256: ([0-9A-F:]{95})/.exec(banner)?.[1];
    assert.ok(fingerprint, banner);
    assert.ok(banner.includes('Setup wizard:        https://\\4:5080/'), banner);
    assert.ok(banner.includes("Setup token:         on the VM's own console (vSphere console, tty1) only"), banner);
    assert.ok(!banner.includes(token), banner);
    assert.equal(modeOf(r('run/issue.d/50-pcg.issue')), '644');
    const tty1 = read(r('run/pcg-installer/tty1.issue'));
    assert.ok(tty1.includes(`Setup token:         ${token}`), tty1);
    assert.ok(tty1.includes(`Certificate SHA-256: ${fingerprint}`), tty1);
    assert.equal(modeOf(r('run/pcg-installer/tty1.issue')), '600');
    assert.equal(modeOf(r('run/pcg-installer')), '700');
    assert.ok(!read(r('run/pcg-installer/console-banner.json')).includes(token));
    assert.ok(existsSync(join(installer, 'wizard.crt')));
    assert.equal(modeOf(join(installer, 'wizard.key')), '600');
    // Secrets stay out of the journal: no code, no proxy password, no token.
    for (const secret of ['ABCD-EFGH-JKMN-PQRS', 'secret', token]) assert.ok(!out.stdout.includes(secret) && !out.stderr.includes(secret), secret);
    assert.ok(out.stdout.includes(`first-boot: wizard certificate SHA-256 ${fingerprint}`), out.stdout);
  });

  it('keeps the token across boots, takes pcg.setupToken when given, and undoes cleared properties', async () => {
    const a = appliance();
    const r = (p: string) => join(a.root, p);
    assert.equal((await a.run(a.envFile({ 'pcg.network': 'static', 'pcg.ip': '10.0.0.5', 'pcg.ntp': 'ntp1', 'pcg.sshKey': 'ssh-rsa AAAAB3Nz x' }))).code, 0);
    const first = read(r('var/lib/pcg-installer/setup-token'));
    assert.equal((await a.run(a.envFile({}))).code, 0);
    assert.equal(read(r('var/lib/pcg-installer/setup-token')), first);
    for (const gone of ['etc/systemd/network/10-pcg-static.network', 'etc/systemd/timesyncd.conf.d/50-pcg.conf', 'home/pcg/.ssh/authorized_keys', 'var/lib/pcg-installer/auto-setup.json']) {
      assert.equal(existsSync(r(gone)), false, gone);
    }
    assert.equal((await a.run(a.envFile({ 'pcg.setupToken': 'my-own-token-1234' }))).code, 0);
    assert.equal(read(r('var/lib/pcg-installer/setup-token')), 'my-own-token-1234\n');
    const banner = read(r('run/issue.d/50-pcg.issue'));
    assert.ok(banner.includes('Setup token:         the one given in the pcg.setupToken vApp property'), banner);
    assert.ok(!banner.includes('my-own-token-1234'), banner);
    assert.ok(!read(r('run/pcg-installer/tty1.issue')).includes('my-own-token-1234'));
  });

  it('refuses a pcg.setupToken the wizard would refuse (7 characters) by name, generates one and still prepares auto-setup', async () => {
    const a = appliance();
    const r = (p: string) => join(a.root, p);
    const installer = r('var/lib/pcg-installer');
    const out = await a.run(a.envFile({ 'pcg.setupToken': 'Sh0rt-7', 'pcg.pairingCode': 'ABCD-EFGH-JKMN-PQRS', 'pcg.relayUrl': 'https://relay.example.com' }));
    assert.equal(out.code, 0, out.stderr);
    const problem = 'setup token: pcg.setupToken is not one the wizard accepts (8 characters at least); the console (tty1) shows the one used instead';
    assert.deepEqual(out.stdout.split('\n').filter((l) => l.startsWith('first-boot: not applied: ') || l.startsWith('first-boot: setup token')), [
      `first-boot: not applied: ${problem}`, 'first-boot: setup token generated (setup-token, 0600)',
    ]);
    const token = (await readTokenFile(join(installer, 'setup-token'))).reveal();
    assert.match(token, /^[0-9A-Z]{5}(-[0-9A-Z]{5}){3}$/);
    assert.deepEqual(readdirSync(installer).filter((n) => n.startsWith('setup-token')), ['setup-token']);
    assert.ok(existsSync(join(installer, 'auto-setup.json')), 'auto-setup prepared');
    const shared = read(r('run/issue.d/50-pcg.issue'));
    const tty1 = read(r('run/pcg-installer/tty1.issue'));
    assert.ok(shared.includes(`Not applied: ${problem}`), shared);
    assert.ok(tty1.includes(`Setup token:         ${token}`) && !shared.includes(token), tty1);
    for (const text of [out.stdout, out.stderr, shared, tty1]) assert.ok(!text.includes('Sh0rt-7'), text);

    // Eight characters is what the wizard accepts: taken as given, shown nowhere.
    assert.equal((await a.run(a.envFile({ 'pcg.setupToken': 'Eight-ch' }))).code, 0);
    assert.equal((await readTokenFile(join(installer, 'setup-token'))).reveal(), 'Eight-ch');
    assert.ok(!read(r('run/pcg-installer/tty1.issue')).includes('Eight-ch'));
  });

  it("the image's gettys: tty1 (agetty --issue-file from its drop-in) shows the token, the others' /etc/issue.d does not", async () => {
    const a = appliance();
    assert.equal((await a.run(a.envFile({}))).code, 0);
    const token = read(join(a.root, 'var/lib/pcg-installer/setup-token')).trim();
    assert.equal(readlinkSync(join(OVERLAY, 'etc/issue.d/50-pcg.issue')), APPLIANCE_PATHS.consoleIssueFile);
    const dropIn = read(join(OVERLAY, 'etc/systemd/system/getty@tty1.service.d/pcg-console.conf'));
    const execStart = dropIn.split('\n').filter((l) => l.startsWith('ExecStart='));
    assert.equal(execStart[0], 'ExecStart=', 'the drop-in replaces the unit\'s command');
    const list = /--issue-file (\S+)/.exec(execStart[1] ?? '')?.[1];
    assert.equal(list, `/etc/issue:${TTY1_ISSUE_FILE}`);
    assert.ok(!execStart[1]!.includes('--noclear'), 'tty1 is cleared when the banner loses the token');
    // agetty itself (util-linux, as in the image) renders both lists under the test root, on a pty.
    const show = (issueList: string) => execFileSync('script', ['-qc', `agetty --show-issue --issue-file ${issueList}`, '/dev/null'], { stdio: ['ignore', 'pipe', 'pipe'] }).toString();
    const onTty1 = show(list.split(':').map((p) => join(a.root, p)).join(':'));
    assert.ok(onTty1.includes(`Setup token:         ${token}`), onTty1);
    const elsewhere = show(join(a.root, dirname(APPLIANCE_PATHS.consoleIssueFile)));
    assert.ok(elsewhere.includes('Setup wizard:') && !elsewhere.includes(token), elsewhere);
  });

  it('setup complete: the wizard rewrites both banners without the token, keeping the refused properties', async () => {
    const a = appliance();
    assert.equal((await a.run(a.envFile({ 'pcg.ntp': 'bad host!' }))).code, 0);
    const token = read(join(a.root, 'var/lib/pcg-installer/setup-token')).trim();
    await writeConfiguredConsoleIssues(a.root, { port: 5080, fingerprint: 'AB:CD' });
    const expected = ['', 'PCG installer appliance', '  Set up. Gateway status page: https://\\4:5080/', '  Certificate SHA-256: AB:CD',
      '  Not applied: ntp: pcg.ntp "host!" is not a host name or IPv4 address', '', ''].join('\n');
    assert.equal(read(join(a.root, TTY1_ISSUE_FILE)), expected);
    assert.equal(read(join(a.root, APPLIANCE_PATHS.consoleIssueFile)), expected);
    assert.ok(!expected.includes(token));
  });

  it('refuses invalid properties by name, keeps DHCP and shows the reason on the console', async () => {
    const a = appliance();
    const out = await a.run(a.envFile({
      'pcg.network': 'static', 'pcg.ip': '10.0.0.300', 'pcg.ntp': 'bad host!', 'pcg.httpsProxy': 'socks5://p:1080',
      'pcg.sshKey': 'command="rm -rf /" ssh-ed25519 AAAA x', 'pcg.proxyCa': 'bm90IGEgcGVt',
    }));
    assert.equal(out.code, 0, out.stderr);
    const r = (p: string) => join(a.root, p);
    for (const absent of ['etc/systemd/network/10-pcg-static.network', 'etc/systemd/timesyncd.conf.d/50-pcg.conf', 'etc/pcg/vapp-proxy.env', 'etc/pcg/vapp-proxy-ca.pem', 'home/pcg/.ssh/authorized_keys']) {
      assert.equal(existsSync(r(absent)), false, absent);
    }
    const problems = out.stdout.split('\n').filter((l) => l.startsWith('first-boot: not applied: '));
    assert.deepEqual(problems, [
      'first-boot: not applied: network: pcg.ip "10.0.0.300" is not an IPv4 address',
      'first-boot: not applied: ntp: pcg.ntp "host!" is not a host name or IPv4 address',
      'first-boot: not applied: proxy: pcg.httpsProxy has scheme socks5:; use http:// or https://',
      'first-boot: not applied: proxy CA: pcg.proxyCa is not a PEM certificate (base64 encoded)',
      'first-boot: not applied: ssh: pcg.sshKey line 1 is not an OpenSSH public key (type base64 [comment])',
    ]);
    const banner = read(r('run/issue.d/50-pcg.issue'));
    assert.ok(banner.includes('Not applied: network: pcg.ip "10.0.0.300" is not an IPv4 address'), banner);
    // No code: no auto-setup.
    assert.equal(existsSync(r('var/lib/pcg-installer/auto-setup.json')), false);
  });

  it('once set up: no new token, no auto-setup, and the banner points at the status page', async () => {
    const a = appliance();
    const installer = join(a.root, 'var/lib/pcg-installer');
    mkdirSync(installer, { recursive: true });
    writeFileSync(join(installer, 'setup-complete.json'), JSON.stringify({ gatewayId: 'g', tenantId: 't', relayUrl: 'https://r', configFile: '/etc/pcg/gateway.json', completedAt: '2026-01-01T00:00:00Z' }));
    const out = await a.run(a.envFile({ 'pcg.pairingCode': 'ABCD-EFGH-JKMN-PQRS', 'pcg.relayUrl': 'https://relay.example.com' }));
    assert.equal(out.code, 0, out.stderr);
    assert.equal(existsSync(join(installer, 'setup-token')), false);
    assert.equal(existsSync(join(installer, 'auto-setup.json')), false);
    assert.ok(read(join(a.root, 'run/issue.d/50-pcg.issue')).includes('Set up. Gateway status page: https://\\4:5080/'));
  });

  it('tries an auto-setup once: a report from an earlier try stops a second one', async () => {
    const a = appliance();
    const installer = join(a.root, 'var/lib/pcg-installer');
    mkdirSync(installer, { recursive: true });
    writeFileSync(join(installer, 'auto-setup-report.json'), '{"ok":false}');
    const out = await a.run(a.envFile({ 'pcg.pairingCode': 'ABCD-EFGH-JKMN-PQRS', 'pcg.relayUrl': 'https://relay.example.com' }));
    assert.equal(out.code, 0, out.stderr);
    assert.equal(existsSync(join(installer, 'auto-setup.json')), false);
    assert.ok(out.stdout.includes('first-boot: auto-setup already tried (auto-setup-report.json); use the wizard'), out.stdout);
  });

  it('fails with PCG_ERR_CONFIG_INVALID (exit 2) on an OVF environment that is not one', async () => {
    const a = appliance();
    const bad = join(a.root, 'bad.xml');
    writeFileSync(bad, '<Envelope/>');
    const out = await a.run(bad);
    assert.equal(out.code, 2);
    assert.match(out.stderr, /^PCG_ERR_CONFIG_INVALID: OVF environment: no <Environment> element/);
  });
});
