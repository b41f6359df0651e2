import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { GATEWAY_CLI, INSTALLER_CLI, RELAY_CLI, runCli } from '../support/child.js';

/** The CLI surface, written out here on purpose: a flag dropped by a refactor fails a test. */
const GATEWAY_CONFIG_FLAGS = ['--config', '--state-dir', '--relay', '--ca-pin', '--ca-file', '--backoff-initial', '--backoff-max',
  '--connect-timeout', '--log-level', '--vcenter-host', '--vcenter-user', '--vcenter-password-file', '--vcenter-thumbprint', '--vcenter-ca-file',
  '--https-host', '--https-port', '--https-public-url', '--https-cert-file', '--https-key-file', '--jobs-max-concurrent', '--jobs-clone-concurrency',
  '--jobs-node-ready-timeout', '--jobs-drift-check-interval', '--jobs-retry-limit', '--jobs-retry-initial', '--jobs-retry-max',
  '--registry-enabled', '--registry-username', '--registry-password-file'];
const GATEWAY_ENV = ['PCG_STATE_DIR', 'PCG_RELAY_URL', 'PCG_RELAY_CA_PIN', 'PCG_RELAY_CA_FILE', 'PCG_BACKOFF_INITIAL', 'PCG_BACKOFF_MAX',
  'PCG_CONNECT_TIMEOUT', 'PCG_LOG_LEVEL', 'PCG_VCENTER_HOST', 'PCG_VCENTER_USER', 'PCG_VCENTER_PASSWORD_FILE', 'PCG_VCENTER_THUMBPRINT', 'PCG_VCENTER_CA_FILE',
  'PCG_HTTPS_HOST', 'PCG_HTTPS_PORT', 'PCG_HTTPS_PUBLIC_URL', 'PCG_HTTPS_CERT_FILE', 'PCG_HTTPS_KEY_FILE', 'PCG_JOBS_MAX_CONCURRENT',
  'PCG_JOBS_CLONE_CONCURRENCY', 'PCG_JOBS_NODE_READY_TIMEOUT', 'PCG_JOBS_DRIFT_CHECK_INTERVAL', 'PCG_JOBS_RETRY_LIMIT', 'PCG_JOBS_RETRY_INITIAL', 'PCG_JOBS_RETRY_MAX',
  'PCG_REGISTRY_ENABLED', 'PCG_REGISTRY_USERNAME', 'PCG_REGISTRY_PASSWORD_FILE'];

interface Binary { readonly name: string; readonly script: string }
const GATEWAY: Binary = { name: 'pcg-gateway', script: GATEWAY_CLI };
const RELAY: Binary = { name: 'pcg-relay', script: RELAY_CLI };
const INSTALLER: Binary = { name: 'pcg-installer', script: INSTALLER_CLI };
const INSTALLER_PATHS = ['--installer-dir', '--gateway-state-dir', '--gateway-config', '--launcher'];

/** Groups list their subcommands; leaves list their flags. */
const COMMANDS: ReadonlyArray<{ binary: Binary; path: string[]; mentions: string[]; leaf: boolean }> = [
  { binary: GATEWAY, path: [], mentions: ['pair', 'run', 'status', 'vcenter', 'help', '--version', '--help'], leaf: false },
  { binary: GATEWAY, path: ['pair'], mentions: ['--code', 'PCG_PAIRING_CODE', ...GATEWAY_CONFIG_FLAGS, ...GATEWAY_ENV], leaf: true },
  { binary: GATEWAY, path: ['run'], mentions: [...GATEWAY_CONFIG_FLAGS, ...GATEWAY_ENV], leaf: true },
  { binary: GATEWAY, path: ['status'], mentions: ['--json', ...GATEWAY_CONFIG_FLAGS, ...GATEWAY_ENV], leaf: true },
  { binary: GATEWAY, path: ['vcenter'], mentions: ['check', 'help'], leaf: false },
  { binary: GATEWAY, path: ['vcenter', 'check'], mentions: ['--json', ...GATEWAY_CONFIG_FLAGS, ...GATEWAY_ENV], leaf: true },
  { binary: RELAY, path: [], mentions: ['serve', 'admin', 'packs', 'help', '--version', '--help'], leaf: false },
  {
    binary: RELAY, path: ['serve'], leaf: true, mentions: ['--data-dir', '--listen', '--database-url', '--tls-cert', '--tls-key', '--tls-host',
      '--pairing-code-ttl', '--heartbeat', '--cert-lifetime', '--database-pool-size', '--max-handshakes', '--max-tls-handshakes', '--busy-retry-after',
      '--max-frame-bytes', '--inventory-timeout', '--registry-dir', '--no-registry', '--registry-username', '--registry-password-file'],
  },
  { binary: RELAY, path: ['admin'], mentions: ['create-tenant', 'help'], leaf: false },
  { binary: RELAY, path: ['admin', 'create-tenant'], mentions: ['--data-dir', '--name', '--database-url'], leaf: true },
  { binary: RELAY, path: ['packs'], mentions: ['import', 'help'], leaf: false },
  { binary: RELAY, path: ['packs', 'import'], mentions: ['--data-dir', '--registry-dir', '--force', '--message', 'source'], leaf: true },
  { binary: INSTALLER, path: [], mentions: ['serve', 'setup', 'first-boot', 'deploy', 'help', '--version', '--help'], leaf: false },
  { binary: INSTALLER, path: ['serve'], mentions: ['--host', '--port', '--setup-token-file', ...INSTALLER_PATHS], leaf: true },
  { binary: INSTALLER, path: ['setup'], mentions: ['--config', '--json', ...INSTALLER_PATHS], leaf: true },
  { binary: INSTALLER, path: ['first-boot'], mentions: ['--ovf-env', '--root', ...INSTALLER_PATHS], leaf: true },
  {
    binary: INSTALLER, path: ['deploy'], leaf: true, mentions: ['--vcenter-host', '--vcenter-user', '--vcenter-password-file', '--vcenter-thumbprint',
      '--datacenter', '--cluster', '--datastore', '--network', '--folder', '--name', '--prop', '--prop-file', 'ova'],
  },
];

const VERSION = (JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

describe('CLI help, version and usage errors', function () {
  this.timeout(30_000);

  for (const { binary, path, mentions, leaf } of COMMANDS) {
    const command = [binary.name, ...path].join(' ');

    describe(command, () => {
      it('--help exits 0 and shows usage, a description and every flag or subcommand', async () => {
        const out = await runCli(binary.script, [...path, '--help']);
        assert.equal(out.code, 0, out.stderr);
        assert.equal(out.stderr, '');
        assert.ok(out.stdout.startsWith(`Usage: ${command} [options]`), out.stdout);
        assert.match(out.stdout.split('\n')[2]!, /^[A-Z][a-z]+ /, 'a description line follows the usage');
        for (const mention of mentions) assert.ok(out.stdout.includes(mention), `${command} --help mentions ${mention}`);
        if (leaf) assert.ok(!out.stdout.includes('Commands:'), 'a leaf command lists no subcommands');
      });

      it('-h and help <command> print the same help', async () => {
        const long = await runCli(binary.script, [...path, '--help']);
        const short = await runCli(binary.script, [...path, '-h']);
        const viaHelp = await runCli(binary.script, ['help', ...path]);
        assert.deepEqual(short, long);
        assert.deepEqual(viaHelp, long);
      });

      it('an unknown flag exits 2 naming the flag and the help to read', async () => {
        const out = await runCli(binary.script, [...path, '--frobnicate']);
        assert.equal(out.code, 2);
        assert.equal(out.stdout, '');
        assert.equal(out.stderr, `${binary.name}: unknown option '--frobnicate'\nRun '${command} --help' for usage.\n`);
      });

      if (leaf) {
        it('a flag without its value exits 2', async () => {
          const flag = mentions.find((m) => m.startsWith('--') && m !== '--json')!;
          const out = await runCli(binary.script, [...path, flag]);
          assert.equal(out.code, 2);
          assert.match(out.stderr, new RegExp(`^${binary.name}: option '${flag} <[^>]+>' argument missing\\n`));
        });
      } else {
        it('an unknown command exits 2 naming the command; no command prints help and exits 2', async () => {
          const out = await runCli(binary.script, [...path, 'frobnicate']);
          assert.equal(out.code, 2);
          assert.equal(out.stdout, '');
          assert.equal(out.stderr, `${binary.name}: unknown command 'frobnicate'\nRun '${command} --help' for usage.\n`);
          const bare = await runCli(binary.script, path);
          assert.equal(bare.code, 2);
          assert.ok(bare.stderr.startsWith(`Usage: ${command} [options] [command]`), bare.stderr);
        });
      }
    });
  }

  for (const binary of [GATEWAY, RELAY, INSTALLER]) {
    it(`${binary.name} --version and -V print the package.json version and exit 0`, async () => {
      for (const flag of ['--version', '-V']) {
        const out = await runCli(binary.script, [flag]);
        assert.deepEqual(out, { code: 0, stdout: `${VERSION}\n`, stderr: '' });
      }
    });

    it(`${binary.name} help frobnicate is an unknown command`, async () => {
      const out = await runCli(binary.script, ['help', 'frobnicate']);
      assert.equal(out.code, 2);
      assert.equal(out.stderr, `${binary.name}: unknown command 'frobnicate'\nRun '${binary.name} --help' for usage.\n`);
    });
  }

  it('a misspelt flag gets a suggestion', async () => {
    const out = await runCli(GATEWAY_CLI, ['status', '--stat-dir', '/tmp']);
    assert.equal(out.code, 2);
    assert.equal(out.stderr, "pcg-gateway: unknown option '--stat-dir'\n(Did you mean --state-dir?)\nRun 'pcg-gateway status --help' for usage.\n");
  });

  it('gateway flags reach convict: a flag beats the environment, a bad flag value names its key', async () => {
    const beats = await runCli(GATEWAY_CLI, ['status', '--state-dir', '/nonexistent/pcg', '--backoff-max', '30s', '--json'], { PCG_BACKOFF_MAX: 'soon' });
    assert.equal(beats.code, 0, beats.stderr);
    assert.equal(JSON.parse(beats.stdout).paired, false);
    const bad = await runCli(GATEWAY_CLI, ['status', '--state-dir', '/nonexistent/pcg', '--log-level', 'chatty']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /^PCG_ERR_CONFIG_INVALID: logLevel: /);
  });

  it('pair takes its code from PCG_PAIRING_CODE when --code is absent', async () => {
    const out = await runCli(GATEWAY_CLI, ['pair', '--state-dir', '/nonexistent/pcg', '--relay', 'https://127.0.0.1:1'], { PCG_PAIRING_CODE: 'abc' });
    assert.equal(out.code, 1);
    assert.match(out.stderr, /^PCG_ERR_PAIR_CODE_FORMAT: /);
  });
});
