import { strict as assert } from 'node:assert';
import { createPrivateKey, generateKeyPairSync, X509Certificate } from 'node:crypto';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadWizardTls, WIZARD_CERT_FILE, WIZARD_KEY_FILE } from '../../installer-ova/wizard/wizard-tls.js';
import { tempDir } from '../support/temp-dir.js';

describe('installer: wizard certificate', () => {
  let dir: { path: string; remove: () => void };
  beforeEach(() => (dir = tempDir('wizard-tls')));
  afterEach(() => dir.remove());
  const now = Date.UTC(2026, 4, 17);
  const matches = (tls: { keyPem: string; certPem: string }): boolean => new X509Certificate(tls.certPem).checkPrivateKey(createPrivateKey(tls.keyPem));

  it('is made once and reused across restarts: same files, same fingerprint', async () => {
    const first = await loadWizardTls(dir.path, ['pcg-installer', '127.0.0.1'], now);
    assert.equal(matches(first), true);
    const again = await loadWizardTls(dir.path, ['pcg-installer', '127.0.0.1'], now + 86_400_000);
    assert.deepEqual([again.fingerprint, again.keyPem, again.certPem], [first.fingerprint, first.keyPem, first.certPem]);
  });

  it('a key that is not the certificate\'s (a crash between the two writes) is made again, never served', async () => {
    const first = await loadWizardTls(dir.path, ['pcg-installer'], now);
    // The new key was written, the certificate of the old one is still there.
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    writeFileSync(join(dir.path, WIZARD_KEY_FILE), privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
    const repaired = await loadWizardTls(dir.path, ['pcg-installer'], now);
    assert.notEqual(repaired.fingerprint, first.fingerprint);
    assert.equal(matches(repaired), true);
    assert.deepEqual([readFileSync(join(dir.path, WIZARD_KEY_FILE), 'utf8'), readFileSync(join(dir.path, WIZARD_CERT_FILE), 'utf8')], [repaired.keyPem, repaired.certPem]);
    assert.equal(new X509Certificate(repaired.certPem).fingerprint256, repaired.fingerprint);
  });

  it('a certificate that does not parse, or a missing key, is made again', async () => {
    const first = await loadWizardTls(dir.path, ['pcg-installer'], now);
    writeFileSync(join(dir.path, WIZARD_CERT_FILE), '-----BEGIN CERTIFICATE-----\ntorn\n');
    const fromTorn = await loadWizardTls(dir.path, ['pcg-installer'], now);
    assert.notEqual(fromTorn.fingerprint, first.fingerprint);
    assert.equal(matches(fromTorn), true);
    rmSync(join(dir.path, WIZARD_KEY_FILE));
    const fromMissing = await loadWizardTls(dir.path, ['pcg-installer'], now);
    assert.notEqual(fromMissing.fingerprint, fromTorn.fingerprint);
    assert.equal(matches(fromMissing), true);
  });
});
