import { createHash, X509Certificate } from 'node:crypto';

/**
 * CA pin as shown in the portal next to the pairing code: `sha256/<base64 of SHA-256(SPKI DER)>`,
 * the HPKP / kubeadm form, so it survives re-issuing the CA certificate with the same key.
 */
export function spkiPin(cert: X509Certificate | string | Buffer): string {
  const x509 = cert instanceof X509Certificate ? cert : new X509Certificate(cert);
  const spki = x509.publicKey.export({ type: 'spki', format: 'der' });
  return `sha256/${createHash('sha256').update(spki).digest('base64')}`;
}

export function isCaPin(value: string): boolean {
  return /^sha256\/[A-Za-z0-9+/]{43}=$/.test(value);
}
