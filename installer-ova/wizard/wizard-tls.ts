import { createPrivateKey, X509Certificate } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { hostname, networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { writeFileAtomic } from '../../proto/atomic-file.js';
import { issueServerCertificate, type KeyAndCertificate } from '../../gateway/http/server-certificate.js';

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

function selfSigned(hosts: readonly string[], now: number): KeyAndCertificate {
  return issueServerCertificate({ hosts, now, lifetimeMs: 825 * DAY, fallbackName: 'pcg-installer', organization: 'PCG installer' });
}
