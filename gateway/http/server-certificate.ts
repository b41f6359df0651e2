import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { isIP } from 'node:net';
import forge from 'node-forge';

export interface KeyAndCertificate {
  readonly keyPem: string;
  readonly certPem: string;
}

/** An RSA-2048 key made by node:crypto (natively; forge's pure-JS generator takes seconds), in both forms. */
export function rsaKey(): { forgeKey: forge.pki.rsa.PrivateKey; publicKey: forge.pki.rsa.PublicKey; keyPem: string } {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const keyPem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const forgeKey = forge.pki.privateKeyFromPem(keyPem);
  return { forgeKey, publicKey: forge.pki.setRsaPublicKey(forgeKey.n, forgeKey.e), keyPem };
}

/** 16 random bytes with the top bit clear: a positive, minimally encoded serial. */
export function certificateSerial(): string {
  const bytes = randomBytes(16);
  bytes[0] = 0x40 | (bytes[0]! & 0x3f);
  return bytes.toString('hex');
}

export interface ServerCertificateOptions {
  /** DNS names and IP addresses; the first is the common name. */
  readonly hosts: readonly string[];
  readonly now: number;
  readonly lifetimeMs: number;
  /** Common name when `hosts` is empty. */
  readonly fallbackName: string;
  readonly organization: string;
  /** The CA that signs it; absent: self-signed. */
  readonly issuer?: KeyAndCertificate;
}

/**
 * A TLS server certificate for `hosts` with a fresh key: the gateway's HTTPS leaf (signed by its
 * own CA) and the installer wizard's (self-signed, its fingerprint shown on the console).
 */
export function issueServerCertificate(options: ServerCertificateOptions): KeyAndCertificate {
  const { publicKey, forgeKey, keyPem } = rsaKey();
  const ca = options.issuer ? forge.pki.certificateFromPem(options.issuer.certPem) : undefined;
  const cert = forge.pki.createCertificate();
  cert.publicKey = publicKey;
  cert.serialNumber = certificateSerial();
  cert.validity.notBefore = new Date(options.now - 3_600_000);
  cert.validity.notAfter = new Date(options.now + options.lifetimeMs);
  const subject = [{ name: 'commonName', value: options.hosts[0] ?? options.fallbackName }, { name: 'organizationName', value: options.organization }];
  cert.setSubject(subject);
  cert.setIssuer(ca ? ca.subject.attributes : subject);
  cert.setExtensions([
    { name: 'basicConstraints', cA: false, critical: true },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', serverAuth: true },
    { name: 'subjectAltName', altNames: options.hosts.map((h) => (isIP(h) ? { type: 7, ip: h } : { type: 2, value: h })) },
    { name: 'subjectKeyIdentifier' },
    ...(ca ? [{ name: 'authorityKeyIdentifier', keyIdentifier: ca.generateSubjectKeyIdentifier().getBytes() }] : []),
  ]);
  cert.sign(options.issuer ? forge.pki.privateKeyFromPem(options.issuer.keyPem) : forgeKey, forge.md.sha256.create());
  return { keyPem, certPem: forge.pki.certificateToPem(cert) };
}
