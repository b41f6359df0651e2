import { createPrivateKey, generateKeyPairSync, randomBytes, X509Certificate } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { hostname, networkInterfaces } from 'node:os';
import { join } from 'node:path';
import forge from 'node-forge';
import { writeFileAtomic } from '../../proto/atomic-file.js';

export interface WizardTls {
  readonly keyPem: string;
  readonly certPem: string;
  /** SHA-256 of the certificate, AB:CD:… as browsers show it; the console prints the same. */
  readonly fingerprint: string;
}

export const WIZARD_KEY_FILE = 'wizard.key';
export const WIZARD_CERT_FILE = 'wizard.crt';
const DAY = 86_400_000;

/** The machine's names and addresses: the host name, localhost and every interface address. */
export function machineHosts(): string[] {
  const addresses = Object.values(networkInterfaces()).flatMap((list) => (list ?? []).map((i) => i.address.replace(/%.*$/, '')));
  return [...new Set([hostname(), 'localhost', ...addresses])].filter(Boolean);
}

/**
 * The wizard's self-signed certificate, kept in installer-dir (key 0600) and reused across
 * restarts so the fingerprint on the console stays true; made again only when missing or within
 * 30 days of expiry. A DHCP lease that changes the address does not re-issue it: the admin checks
 * the fingerprint, not the name. The key and the certificate are two files, each written
 * atomically but not together: a crash between the two leaves a pair that does not match, and
 * such a pair (or one that does not parse) is made again rather than served.
 */
export async function loadWizardTls(installerDir: string, hosts: readonly string[], now: number): Promise<WizardTls> {
  const keyPath = join(installerDir, WIZARD_KEY_FILE);
  const certPath = join(installerDir, WIZARD_CERT_FILE);
  let pair = await readPair(keyPath, certPath);
  if (!pair || Date.parse(pair.cert.validTo) - now < 30 * DAY) {
    await mkdir(installerDir, { recursive: true, mode: 0o700 });
    const made = selfSigned(hosts, now);
    await writeFileAtomic(keyPath, made.keyPem, 0o600);
    await writeFileAtomic(certPath, made.certPem, 0o644);
    pair = { keyPem: made.keyPem, certPem: made.certPem, cert: new X509Certificate(made.certPem) };
  }
  return { keyPem: pair.keyPem, certPem: pair.certPem, fingerprint: pair.cert.fingerprint256 };
}

/** Both files, parsed, the certificate's public key the private key's; else undefined. */
async function readPair(keyPath: string, certPath: string): Promise<{ keyPem: string; certPem: string; cert: X509Certificate } | undefined> {
  if (!existsSync(keyPath) || !existsSync(certPath)) return undefined;
  try {
    const [keyPem, certPem] = await Promise.all([readFile(keyPath, 'utf8'), readFile(certPath, 'utf8')]);
    const cert = new X509Certificate(certPem);
    return cert.checkPrivateKey(createPrivateKey(keyPem)) ? { keyPem, certPem, cert } : undefined;
  } catch {
    return undefined;
  }
}

function selfSigned(hosts: readonly string[], now: number): { keyPem: string; certPem: string } {
  // node:crypto makes the key natively; forge's pure-JS generator takes seconds.
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const keyPem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const forgeKey = forge.pki.privateKeyFromPem(keyPem);
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.setRsaPublicKey(forgeKey.n, forgeKey.e);
  const serial = randomBytes(16);
  serial[0] = 0x40 | (serial[0]! & 0x3f);
  cert.serialNumber = serial.toString('hex');
  cert.validity.notBefore = new Date(now - 3_600_000);
  cert.validity.notAfter = new Date(now + 825 * DAY);
  const subject = [{ name: 'commonName', value: hosts[0] ?? 'pcg-installer' }, { name: 'organizationName', value: 'PCG installer' }];
  cert.setSubject(subject);
  cert.setIssuer(subject);
  cert.setExtensions([
    { name: 'basicConstraints', cA: false, critical: true },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', serverAuth: true },
    { name: 'subjectAltName', altNames: hosts.map((h) => (isIP(h) ? { type: 7, ip: h } : { type: 2, value: h })) },
    { name: 'subjectKeyIdentifier' },
  ]);
  cert.sign(forgeKey, forge.md.sha256.create());
  return { keyPem, certPem: forge.pki.certificateToPem(cert) };
}
