import { strict as assert } from 'node:assert';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { GATEWAY_CLI, RELAY_CLI, runCli } from '../support/child.js';
import { tempDir } from '../support/temp-dir.js';

describe('CLI configuration errors', function () {
  this.timeout(20_000);
  const dir = tempDir('cfg');
  after(() => dir.remove());

  it('a config file with an unknown key is refused, naming the key', async () => {
    const file = join(dir.path, 'gateway.json');
    writeFileSync(file, JSON.stringify({ stateDir: dir.path, relay: { urll: 'https://x' } }));
    const out = await runCli(GATEWAY_CLI, ['status', '--config', file]);
    assert.equal(out.code, 2);
    assert.match(out.stderr, /^PCG_ERR_CONFIG_INVALID: configuration param 'relay.urll' not declared in the schema/);
  });

  it('a bad value from the environment names its key', async () => {
    const out = await runCli(GATEWAY_CLI, ['status', '--state-dir', dir.path], { PCG_BACKOFF_MAX: 'soon' });
    assert.equal(out.code, 2);
    assert.match(out.stderr, /^PCG_ERR_CONFIG_INVALID: backoff\.max: /);
  });

  it('unknown flags and missing required flags are refused', async () => {
    // An unknown flag is a usage error from commander (exit 2), not a configuration key.
    const unknown = await runCli(GATEWAY_CLI, ['run', '--sate-dir', dir.path]);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /^pcg-gateway: unknown option '--sate-dir'/);
    assert.match((await runCli(GATEWAY_CLI, ['pair', '--state-dir', dir.path, '--relay', 'https://127.0.0.1:1'])).stderr, /^PCG_ERR_CONFIG_INVALID: --code is required/);
    assert.match((await runCli(RELAY_CLI, ['serve'])).stderr, /^PCG_ERR_CONFIG_INVALID: --data-dir is required/);
    assert.match((await runCli(RELAY_CLI, ['serve', '--data-dir', dir.path, '--listen', 'nowhere'])).stderr, /^PCG_ERR_CONFIG_INVALID: listen: "nowhere" is not HOST:PORT/);
  });

  it('run on an unpaired state dir says to pair first; status says not paired', async () => {
    const run = await runCli(GATEWAY_CLI, ['run', '--state-dir', join(dir.path, 'empty')]);
    assert.equal(run.code, 1);
    assert.match(run.stderr, /^PCG_ERR_NOT_PAIRED: .*Run 'pcg-gateway pair'/);
    const status = await runCli(GATEWAY_CLI, ['status', '--state-dir', join(dir.path, 'empty'), '--json']);
    assert.equal(JSON.parse(status.stdout).paired, false);
  });
});
