import { createHash, generateKeyPair, randomBytes, X509Certificate } from 'node:crypto';
import { promisify } from 'node:util';
import forge from 'node-forge';
import { Secret } from '../../proto/secret.js';
import type { ClusterCa } from '../jobs/job-executor.js';

/** kubeadm's own CA lifetime (10 years): the cluster outlives many gateway restarts and upgrades. */
const CA_VALIDITY_YEARS = 10;
/** Clock skew between the gateway and a node just booted from a template. */
const BACKDATE_MS = 60 * 60 * 1000;

/**
 * A new Kubernetes CA as kubeadm makes one (`CN=kubernetes`, RSA 2048, SHA-256, a CA that signs
 * certificates, 10 years), for the gateway to hand to the first control plane. The key pair comes
 * from node's native (async) generator, the certificate from node-forge (node has no X.509 writer).
 */
export async function createClusterCa(now: number): Promise<{ readonly certPem: string; readonly keyPem: Secret<string> }> {
  const { publicKey, privateKey } = await promisify(generateKeyPair)('rsa', {
    modulusLength: 2048, publicKeyEncoding: { type: 'spki', format: 'pem' }, privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
  });
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(publicKey);
  // A positive serial of 128 random bits (the high bit cleared: DER integers are signed).
  const serial = randomBytes(16);
  serial[0]! &= 0x7f;
  cert.serialNumber = serial.toString('hex');
  cert.validity.notBefore = new Date(now - BACKDATE_MS);
  cert.validity.notAfter = new Date(now);
  cert.validity.notAfter.setUTCFullYear(cert.validity.notAfter.getUTCFullYear() + CA_VALIDITY_YEARS);
  const name = [{ name: 'commonName', value: 'kubernetes' }];
  cert.setSubject(name);
  cert.setIssuer(name);
  cert.setExtensions([
    { name: 'basicConstraints', cA: true, critical: true },
    { name: 'keyUsage', critical: true, keyCertSign: true, cRLSign: true, digitalSignature: true, keyEncipherment: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  cert.sign(forge.pki.privateKeyFromPem(privateKey), forge.md.sha256.create());
  return { certPem: forge.pki.certificateToPem(cert), keyPem: new Secret(privateKey) };
}

/**
 * kubeadm's CA pin: `sha256:` and the hex SHA-256 of the certificate's DER SubjectPublicKeyInfo
 * (what `openssl x509 -pubkey | openssl pkey -pubin -outform der | sha256sum` prints).
 */
export function caCertHashOf(certPem: string): string {
  const spki = new X509Certificate(certPem).publicKey.export({ type: 'spki', format: 'der' });
  return `sha256:${createHash('sha256').update(spki).digest('hex')}`;
}

/** The CA as the executor's port hands it out. */
export function clusterCaOf(certPem: string, keyPem: Secret<string>): ClusterCa {
  return { certPem, keyPem, caCertHash: caCertHashOf(certPem) };
}
