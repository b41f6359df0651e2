import { strict as assert } from 'node:assert';
import { chmodSync, existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { recordSetupComplete, readSetupRecord } from '../../installer-ova/setup/setup-record.js';
import { ensureSetupToken, readTokenFile, SETUP_TOKEN_FILE, SetupToken } from '../../installer-ova/setup/setup-token.js';
import { FailureLimiter } from '../../installer-ova/wizard/failure-limiter.js';
import { Secret } from '../../proto/secret.js';
import { tempDir } from '../support/temp-dir.js';

describe('installer: setup token', () => {
  let dir: { path: string; remove: () => void };
  beforeEach(() => (dir = tempDir('installer-token')));
  afterEach(() => dir.remove());

  it('is made once (0600, 20 Crockford characters in groups of five) and read back the same', async () => {
    const first = await ensureSetupToken(dir.path);
    assert.equal(first.created, true);
    assert.match(first.token.reveal(), /^[0-9A-HJKMNP-TV-Z]{5}(-[0-9A-HJKMNP-TV-Z]{5}){3}$/);
    assert.equal(statSync(join(dir.path, SETUP_TOKEN_FILE)).mode & 0o777, 0o600);
    const second = await ensureSetupToken(dir.path);
    assert.equal(second.created, false);
    assert.equal(second.token.reveal(), first.token.reveal());
    assert.equal(String(second.token), '[redacted]');
  });

  it('matches only the exact token, and nothing once spent', async () => {
    const { token } = await ensureSetupToken(dir.path);
    const setupToken = new SetupToken(token, false);
    assert.equal(setupToken.matches(token.reveal()), true);
    assert.equal(setupToken.matches(`${token.reveal()}x`), false);
    assert.equal(setupToken.matches(token.reveal().toLowerCase()), false);
    assert.equal(setupToken.matches(undefined), false);
    setupToken.spend();
    assert.equal(setupToken.spent, true);
    assert.equal(setupToken.matches(token.reveal()), false);
  });

  it('recording setup completion spends it for good: the token file is gone and the record stays', async () => {
    await ensureSetupToken(dir.path);
    await recordSetupComplete(dir.path, { gatewayId: 'g1', tenantId: 't1', relayUrl: 'https://r', configFile: '/etc/pcg/gateway.json', completedAt: '2026-01-01T00:00:00.000Z' });
    assert.equal(existsSync(join(dir.path, SETUP_TOKEN_FILE)), false);
    assert.equal((await readSetupRecord(dir.path))?.gatewayId, 'g1');
    assert.equal(JSON.parse(readFileSync(join(dir.path, 'setup-complete.json'), 'utf8')).tenantId, 't1');
  });

  it('refuses a token file others can read', async () => {
    const file = join(dir.path, 'token');
    writeFileSync(file, 'ABCDE-FGHJK\n', { mode: 0o644 });
    await assert.rejects(readTokenFile(file), /^PCG_ERR_CONFIG_INVALID: --setup-token-file: .* has mode 644; make it 0600/);
    chmodSync(file, 0o600);
    const token = new SetupToken(await readTokenFile(file), false);
    assert.equal(token.matches('ABCDE-FGHJK'), true);
    assert.equal(new SetupToken(new Secret('x'), true).matches('x'), false);
  });

  it('names the token file it read in its errors: installer-dir\'s own as "setup token", not --setup-token-file', async () => {
    const file = join(dir.path, SETUP_TOKEN_FILE);
    writeFileSync(file, 'ABCDE-FGHJK\n', { mode: 0o644 });
    await assert.rejects(ensureSetupToken(dir.path), (err: unknown) => err instanceof Error
      && err.message === `setup token: ${file} has mode 644; make it 0600. Fix the named configuration key (file, PCG_* environment variable or flag).`);
    chmodSync(file, 0o600);
    writeFileSync(file, 'short\n');
    await assert.rejects(ensureSetupToken(dir.path), /^PCG_ERR_CONFIG_INVALID: setup token: .*setup-token holds fewer than 8 characters/);
  });
});

describe('installer: wrong-token limiter', () => {
  it('locks an address out after 10 failures for the rest of the minute, others unaffected', () => {
    let now = 1_000_000;
    const limiter = new FailureLimiter(10, 60_000, 100, () => now);
    for (let i = 0; i < 9; i++) limiter.recordFailure('10.0.0.1');
    assert.equal(limiter.retryAfterMs('10.0.0.1'), 0);
    now += 1000;
    limiter.recordFailure('10.0.0.1');
    assert.equal(limiter.retryAfterMs('10.0.0.1'), 59_000);
    assert.equal(limiter.retryAfterMs('10.0.0.2'), 0);
    now += 59_000;
    assert.equal(limiter.retryAfterMs('10.0.0.1'), 0);
  });
});
