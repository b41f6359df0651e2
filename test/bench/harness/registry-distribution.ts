/**
 * The peer of the registry bench: Debian's `docker-registry` (CNCF distribution 2.8) as a child
 * process, filesystem storage in a temp dir, HTTPS on 127.0.0.1 with a self-signed certificate
 * made here (node-forge), so both registries pay for TLS alike. No auth: distribution's htpasswd
 * runs bcrypt on every request, which would handicap it; anonymous is its fastest configuration.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import forge from 'node-forge';
import { Agent, request } from 'undici';

export interface SelfSigned { readonly certPem: string; readonly keyPem: string }

/** A self-signed certificate for 127.0.0.1 (RSA 2048, a day long): the peer's TLS identity. */
export function selfSigned(): SelfSigned {
  const keys = forge.pki.rsa.generateKeyPair(2048);
  const cert = forge.pki.createCertificate();
  cert.publicKey = keys.publicKey;
  cert.serialNumber = '01';
  cert.validity.notBefore = new Date(Date.now() - 60_000);
  cert.validity.notAfter = new Date(Date.now() + 86_400_000);
  const subject = [{ name: 'commonName', value: '127.0.0.1' }];
  cert.setSubject(subject);
  cert.setIssuer(subject);
  cert.setExtensions([
    { name: 'basicConstraints', cA: true },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, keyCertSign: true },
    { name: 'extKeyUsage', serverAuth: true },
    { name: 'subjectAltName', altNames: [{ type: 7, ip: '127.0.0.1' }] },
  ]);
  cert.sign(keys.privateKey, forge.md.sha256.create());
  return { certPem: forge.pki.certificateToPem(cert), keyPem: forge.pki.privateKeyToPem(keys.privateKey) };
}

/** `docker-registry serve` on a given port; `close()` stops it (idempotent). */
export class DistributionRegistry {
  readonly #exited: Promise<void>;

  private constructor(readonly url: string, readonly caPem: string, private readonly proc: ChildProcess) {
    this.#exited = new Promise((resolve) => proc.once('exit', () => resolve()));
  }

  get pid(): number {
    return this.proc.pid!;
  }

  /** Writes the config and the certificate into `dir`, starts the registry and waits for GET /v2/ to answer 200. */
  static async start(dir: string, port: number): Promise<DistributionRegistry> {
    const tls = selfSigned();
    writeFileSync(join(dir, 'cert.pem'), tls.certPem);
    writeFileSync(join(dir, 'key.pem'), tls.keyPem, { mode: 0o600 });
    const config = join(dir, 'config.yml');
    writeFileSync(config, [
      'version: 0.1',
      'log:',
      '  level: error',
      '  accesslog:',
      '    disabled: true',
      'storage:',
      '  filesystem:',
      `    rootdirectory: ${join(dir, 'data')}`,
      '  delete:',
      '    enabled: true',
      '  maintenance:',
      '    uploadpurging:',
      '      enabled: false',
      'http:',
      `  addr: 127.0.0.1:${port}`,
      '  secret: pcg-bench-secret',
      '  tls:',
      `    certificate: ${join(dir, 'cert.pem')}`,
      `    key: ${join(dir, 'key.pem')}`,
      '',
    ].join('\n'));
    const proc = spawn('docker-registry', ['serve', config], { stdio: ['ignore', 'ignore', 'inherit'] });
    const peer = new DistributionRegistry(`https://127.0.0.1:${port}`, tls.certPem, proc);
    try {
      await peer.#ready();
      return peer;
    } catch (err) {
      await peer.close();
      throw err;
    }
  }

  async #ready(): Promise<void> {
    const dispatcher = new Agent({ connect: { ca: this.caPem } });
    try {
      for (let i = 0; i < 200; i++) {
        if (this.proc.exitCode !== null) throw new Error(`docker-registry exited with ${this.proc.exitCode}`);
        try {
          const res = await request(`${this.url}/v2/`, { dispatcher });
          await res.body.dump();
          if (res.statusCode === 200) return;
        } catch {
          // not listening yet
        }
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error('docker-registry did not answer GET /v2/ within 10 s');
    } finally {
      await dispatcher.close();
    }
  }

  async close(): Promise<void> {
    if (this.proc.exitCode === null && this.proc.signalCode === null) this.proc.kill('SIGTERM');
    await this.#exited;
  }
}
