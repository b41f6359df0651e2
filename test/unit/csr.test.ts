import { strict as assert } from 'node:assert';
import { X509Certificate } from 'node:crypto';
import { buildCsr, verifyCsr } from '../../proto/csr.js';
import { generateKeyPair, rawPublicKey } from '../../proto/keys.js';
import { PcgError } from '../../proto/errors.js';
import { CertificateAuthority } from '../../saas-relay/tls/certificate-authority.js';

describe('CSR and certificates', () => {
  const now = Date.UTC(2026, 0, 1);
  const ca = CertificateAuthority.generate('Test CA', now);
  const authority = new CertificateAuthority(ca.keyPem, ca.certPem);

  // Regression: forge read random key/signature bytes inside BIT STRINGs as nested ASN.1 and
  // about one CSR in a few hundred failed to verify. 2,000 fresh keys make that certain to show.
  it('every CSR from a fresh Ed25519 key verifies and yields a client certificate for its key', () => {
    for (let i = 0; i < 2000; i++) {
      const key = generateKeyPair('Ed25519');
      const csr = buildCsr('pcg-gateway', key.privateKey, key.publicKey);
      const verified = verifyCsr(csr);
      assert.ok(rawPublicKey(verified.publicKey).equals(key.publicRaw), `CSR ${i}`);
      if (i % 100 === 0) {
        const cert = new X509Certificate(authority.issueClient('gw_0123456789', verified.publicKey, now, 3_600_000).certPem);
        assert.ok(cert.checkIssued(authority.cert) && cert.verify(authority.cert.publicKey));
        assert.ok(rawPublicKey(cert.publicKey).equals(key.publicRaw));
      }
    }
  });

  // Regression: serials were masked to positive only, so ~1 in 256 started 0x00 0x0…, which is
  // non-minimal DER and OpenSSL refused to parse the certificate (seen at 10,000 pairings).
  it('every issued certificate parses: serial numbers are minimal positive DER integers', () => {
    const key = generateKeyPair('Ed25519');
    for (let i = 0; i < 3000; i++) {
      const cert = new X509Certificate(authority.issueClient('gw_0123456789', key.publicKey, now, 3_600_000).certPem);
      assert.match(cert.serialNumber, /^[4-7][0-9A-F]{31}$/);
    }
  });

  it('a CSR whose signature was altered is refused', () => {
    const key = generateKeyPair('Ed25519');
    const csr = buildCsr('pcg-gateway', key.privateKey, key.publicKey);
    const body = csr.split('\n').slice(1, -2).join('');
    const der = Buffer.from(body, 'base64');
    der[der.length - 1]! ^= 1;
    const tampered = `-----BEGIN CERTIFICATE REQUEST-----\n${der.toString('base64')}\n-----END CERTIFICATE REQUEST-----\n`;
    assert.throws(() => verifyCsr(tampered), (err: unknown) => err instanceof PcgError && err.code === 'PCG_ERR_BAD_REQUEST');
  });

  it('server certificates cover their DNS names and IPs and chain to the CA', () => {
    const server = new X509Certificate(authority.issueServer(['localhost', '127.0.0.1', '::1'], now, 86_400_000).certPem);
    assert.equal(server.subjectAltName, 'DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1');
    assert.ok(server.verify(authority.cert.publicKey));
  });
});
