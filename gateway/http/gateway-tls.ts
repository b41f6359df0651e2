/**
 * The gateway HTTPS server's key material, made with node-forge at first start and kept in the
 * state dir:
 *
 *   gateway-ca.key (0600)  gateway-ca.crt   the gateway's own CA; nodes trust it (userdata ca_certs),
 *                                           so it must outlive restarts and re-issued server certs
 *   https.key (0600)       https.crt        server certificate for the gateway's names and addresses,
 *                                           chain = leaf + CA; re-issued when the names change or
 *                                           it nears expiry
 *
 * Keys are RSA, made natively (server-certificate.ts).
 * Or the operator gives certFile/keyFile, and the chain's last certificate is what nodes trust.
 */
import { X509Certificate } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { join } from 'node:path';
import forge from 'node-forge';
import { writeFileAtomic } from '../../proto/atomic-file.js';
import { PcgError } from '../../proto/errors.js';
import { certificateSerial, issueServerCertificate, rsaKey, type KeyAndCertificate } from './server-certificate.js';

export interface GatewayTls {
  readonly keyPem: string;
  /** Leaf followed by its chain. */
  readonly certPem: string;
  /** What a node verifies the gateway with. */
  readonly caPem: string;
}

export interface GatewayTlsOptions {
  readonly stateDir: string;
  /** DNS names and IP addresses the generated server certificate covers. */
  readonly hosts: readonly string[];
  readonly certFile: string | null;
  readonly keyFile: string | null;
  readonly now: number;
}

const DAY = 86_400_000;

export async function loadGatewayTls(options: GatewayTlsOptions): Promise<GatewayTls> {
  if (options.certFile || options.keyFile) return loadGiven(options.certFile, options.keyFile);
  const dir = options.stateDir;
  const caKeyPath = join(dir, 'gateway-ca.key');
  const caCertPath = join(dir, 'gateway-ca.crt');
  if (!existsSync(caKeyPath) || !existsSync(caCertPath)) {
    const ca = makeCa(options.now);
    await writeFileAtomic(caKeyPath, ca.keyPem, 0o600);
    await writeFileAtomic(caCertPath, ca.certPem, 0o644);
  }
  const caKeyPem = await readFile(caKeyPath, 'utf8');
  const caPem = await readFile(caCertPath, 'utf8');
  const certPath = join(dir, 'https.crt');
  const keyPath = join(dir, 'https.key');
  const hosts = [...new Set(options.hosts)];
  const current = existsSync(certPath) && existsSync(keyPath) ? new X509Certificate(await readFile(certPath)) : undefined;
  const stale = !current || !sameHosts(current, hosts) || Date.parse(current.validTo) - options.now < 30 * DAY || !current.checkIssued(new X509Certificate(caPem));
  if (stale) {
    const leaf = makeServer(caKeyPem, caPem, hosts, options.now);
    await writeFileAtomic(keyPath, leaf.keyPem, 0o600);
    await writeFileAtomic(certPath, leaf.certPem + caPem, 0o644);
  }
  return { keyPem: await readFile(keyPath, 'utf8'), certPem: await readFile(certPath, 'utf8'), caPem };
}

async function loadGiven(certFile: string | null, keyFile: string | null): Promise<GatewayTls> {
  if (!certFile || !keyFile) throw new PcgError('PCG_ERR_CONFIG_INVALID', 'https.certFile and https.keyFile: set both or neither');
  const [certPem, keyPem] = await Promise.all([readFile(certFile, 'utf8'), readFile(keyFile, 'utf8')]).catch((err: unknown) => {
    throw new PcgError('PCG_ERR_CONFIG_INVALID', `https.certFile/https.keyFile: ${(err as Error).message}`, { cause: err });
  });
  const chain = certPem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g);
  if (!chain) throw new PcgError('PCG_ERR_CONFIG_INVALID', `https.certFile: ${certFile} holds no PEM certificate`);
  return { keyPem, certPem, caPem: `${chain.at(-1)!}\n` };
}

function makeCa(now: number): { keyPem: string; certPem: string } {
  const { forgeKey, publicKey, keyPem } = rsaKey();
  const cert = forge.pki.createCertificate();
  cert.publicKey = publicKey;
  cert.serialNumber = certificateSerial();
  cert.validity.notBefore = new Date(now - 3_600_000);
  cert.validity.notAfter = new Date(now + 10 * 365 * DAY);
  const subject = [{ name: 'commonName', value: 'PCG gateway CA' }, { name: 'organizationName', value: 'PCG' }];
  cert.setSubject(subject);
  cert.setIssuer(subject);
  cert.setExtensions([
    { name: 'basicConstraints', cA: true, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  cert.sign(forgeKey, forge.md.sha256.create());
  return { keyPem, certPem: forge.pki.certificateToPem(cert) };
}

function makeServer(caKeyPem: string, caPem: string, hosts: readonly string[], now: number): KeyAndCertificate {
  return issueServerCertificate({ hosts, now, lifetimeMs: 397 * DAY, fallbackName: 'localhost', organization: 'PCG', issuer: { keyPem: caKeyPem, certPem: caPem } });
}

function sameHosts(cert: X509Certificate, wanted: readonly string[]): boolean {
  const have = (cert.subjectAltName ?? '').split(', ').map((entry) => {
    const [, value = ''] = entry.split(/:(.*)/s);
    return normalizeIp(value);
  });
  return [...new Set(have)].sort().join(',') === [...new Set(wanted.map(normalizeIp))].sort().join(',');
}

/** Node prints IPv6 SANs expanded (0:0:0:0:0:0:0:1); compare them in one form. */
function normalizeIp(value: string): string {
  if (isIP(value) !== 6) return value;
  return new URL(`http://[${value}]/`).hostname.slice(1, -1);
}
