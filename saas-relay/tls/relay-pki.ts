/**
 * The relay's key material in its data dir, made on first start and reused afterwards:
 *
 *   ca.key  ca.crt            relay CA (ECDSA P-256), signs server and gateway certificates
 *   server.key server.crt     TLS server certificate (embedded default), chain = leaf + CA
 *   relay-sign.key            Ed25519 key gateways pin at pairing
 *   hash.key                  HMAC key for secrets at rest
 *
 * Relays sharing one PostgreSQL must share these files too. Private keys are written 0600,
 * each through a temporary file and rename so a crash never leaves half a key.
 */
import { randomBytes, X509Certificate } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { writeFileAtomic } from '../../proto/atomic-file.js';
import { join } from 'node:path';
import { keyPairFromPem, generateKeyPair, privateKeyToPem, type KeyPair } from '../../proto/keys.js';
import { spkiPin } from '../../proto/ca-pin.js';
import { CertificateAuthority } from './certificate-authority.js';

export interface RelayPki {
  readonly ca: CertificateAuthority;
  readonly caPin: string;
  readonly serverKeyPem: string;
  /** Leaf followed by its chain. */
  readonly serverCertPem: string;
  readonly signingKey: KeyPair;
  readonly hashKey: Buffer;
  /** TLS session ticket keys (48 bytes), kept so a restarted relay resumes its gateways' sessions. */
  readonly ticketKeys: Buffer;
}

async function loadOrCreate(path: string, mode: number, make: () => string | Buffer): Promise<Buffer> {
  if (!existsSync(path)) await writeFileAtomic(path, make(), mode);
  return readFile(path);
}

export interface PkiOptions {
  readonly dataDir: string;
  /** Names and addresses the generated server certificate covers. */
  readonly serverHosts: readonly string[];
  /** External certificate and key instead of the generated ones. */
  readonly tlsCertFile?: string | undefined;
  readonly tlsKeyFile?: string | undefined;
  readonly now: number;
}

export async function loadRelayPki(options: PkiOptions): Promise<RelayPki> {
  const dir = options.dataDir;
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const generated = CertificateAuthority.generate.bind(null, 'PCG relay CA', options.now);
  let caPair: { keyPem: string; certPem: string } | undefined;
  const caKeyPem = (await loadOrCreate(join(dir, 'ca.key'), 0o600, () => (caPair ??= generated()).keyPem)).toString();
  const caCertPem = (await loadOrCreate(join(dir, 'ca.crt'), 0o644, () => (caPair ??= generated()).certPem)).toString();
  const ca = new CertificateAuthority(caKeyPem, caCertPem);

  let serverKeyPem: string;
  let serverCertPem: string;
  if (options.tlsCertFile && options.tlsKeyFile) {
    serverKeyPem = await readFile(options.tlsKeyFile, 'utf8');
    serverCertPem = await readFile(options.tlsCertFile, 'utf8');
  } else {
    const certPath = join(dir, 'server.crt');
    const wanted = [...new Set(options.serverHosts)].sort().join(',');
    const current = existsSync(certPath) ? new X509Certificate(await readFile(certPath)) : undefined;
    // Re-issue when the host list changed or the certificate is within 30 days of expiry.
    const stale = !current || current.subjectAltName === undefined || !sameHosts(current, wanted) || Date.parse(current.validTo) - options.now < 30 * 86_400_000;
    if (stale) {
      const issued = ca.issueServer(options.serverHosts, options.now, 397 * 86_400_000);
      await writeFileAtomic(join(dir, 'server.key'), issued.keyPem, 0o600);
      await writeFileAtomic(certPath, issued.certPem + ca.certPem, 0o644);
    }
    serverKeyPem = await readFile(join(dir, 'server.key'), 'utf8');
    serverCertPem = await readFile(certPath, 'utf8');
  }
  const signingPem = (await loadOrCreate(join(dir, 'relay-sign.key'), 0o600, () => privateKeyToPem(generateKeyPair('Ed25519').privateKey))).toString();
  const hashKey = await loadHashKey(dir);
  const ticketKeys = Buffer.from((await loadOrCreate(join(dir, 'tls-tickets.key'), 0o600, () => randomBytes(48).toString('hex'))).toString().trim(), 'hex');
  return { ca, caPin: spkiPin(ca.cert), serverKeyPem, serverCertPem, signingKey: keyPairFromPem(signingPem), hashKey, ticketKeys };
}

/** The HMAC key for secrets at rest; all an admin command that writes tenants needs. */
export async function loadHashKey(dataDir: string): Promise<Buffer> {
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  return Buffer.from((await loadOrCreate(join(dataDir, 'hash.key'), 0o600, () => randomBytes(32).toString('hex'))).toString().trim(), 'hex');
}

function sameHosts(cert: X509Certificate, wanted: string): boolean {
  const have = (cert.subjectAltName ?? '').split(', ').map((entry) => {
    const [, value = ''] = entry.split(/:(.*)/s);
    return value === '0:0:0:0:0:0:0:1' ? '::1' : value;
  });
  return [...new Set(have)].sort().join(',') === wanted;
}
