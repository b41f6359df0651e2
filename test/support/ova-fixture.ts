import { execFileSync } from 'node:child_process';
import { createHash, X509Certificate } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { loadGatewayTls } from '../../gateway/http/gateway-tls.js';
import { tempDir } from './temp-dir.js';

/**
 * A real streamOptimized vmdk of `mib` MiB, as the image build makes one (qemu-img from a raw
 * disk): its first `dataKib` KiB hold bytes from a fixed seed, so the vmdk is the same every run
 * and does not compress to nothing. Returns its path.
 */
export function makeStreamOptimizedVmdk(dir: string, mib: number, dataKib = 512): string {
  const raw = join(dir, 'disk.raw');
  const vmdk = join(dir, 'disk.vmdk');
  const data = Buffer.alloc(dataKib * 1024);
  let x = 0x2545f491;
  for (let i = 0; i < data.length; i++) {
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5; // xorshift32: deterministic, incompressible enough
    data[i] = x & 0xff;
  }
  writeFileSync(raw, data);
  execFileSync('qemu-img', ['resize', '-q', '-f', 'raw', raw, `${mib}M`]);
  execFileSync('qemu-img', ['convert', '-q', '-f', 'raw', '-O', 'vmdk', '-o', 'subformat=streamOptimized', raw, vmdk]);
  return vmdk;
}

/** One request that went through the proxy. */
export interface ProxiedRequest {
  readonly method: string;
  readonly path: string;
  /** The vim25 method of a SOAP request (`ImportVApp`), else undefined. */
  readonly soapMethod: string | undefined;
  readonly contentType: string | undefined;
  readonly bytes: number;
  readonly sha256: string;
  /** vcsim's status, or 0 when the request never reached vcsim (the proxy cut it, or the client broke it off). */
  readonly status: number;
}

/**
 * An HTTPS reverse proxy in front of vcsim with a certificate of its own: the deploy is pointed at
 * it (its thumbprint pinned), so the test sees exactly which bytes reached vcsim's NFC endpoint
 * (vcsim 0.24 discards uploads, so its datastore cannot show them) and which SOAP methods ran.
 * `cutNfcAfter` makes it drop the connection of an NFC upload after that many bytes: an upload
 * failing half-way, as a network drop does.
 */
export class VcsimProxy {
  readonly requests: ProxiedRequest[] = [];
  cutNfcAfter: number | undefined;

  private constructor(private readonly server: Server, private readonly upstream: Agent, private readonly target: string,
    readonly host: string, readonly thumbprint: string, private readonly dir: { remove: () => void }) {}

  static async start(vcsimUrl: string): Promise<VcsimProxy> {
    const dir = tempDir('vcsim-proxy');
    const tls = await loadGatewayTls({ stateDir: dir.path, hosts: ['127.0.0.1'], certFile: null, keyFile: null, now: Date.now() });
    const thumbprint = new X509Certificate(tls.certPem).fingerprint256;
    // vcsim's certificate is the one the test already trusts; the proxy only forwards to it on loopback.
    const upstream = new Agent({ connect: { rejectUnauthorized: false } });
    const server = createServer({ key: tls.keyPem, cert: tls.certPem });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const proxy = new VcsimProxy(server, upstream, new URL(vcsimUrl).origin, `127.0.0.1:${(server.address() as AddressInfo).port}`, thumbprint, dir);
    server.on('request', (req, res) => void proxy.#forward(req, res));
    return proxy;
  }

  async #forward(req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse): Promise<void> {
    const nfc = req.url!.startsWith('/nfc/');
    const socket = req.socket;
    const hash = createHash('sha256');
    const chunks: Buffer[] = [];
    let bytes = 0;
    let cut = false;
    try {
      for await (const chunk of req as AsyncIterable<Buffer>) {
        bytes += chunk.length;
        hash.update(chunk);
        chunks.push(chunk);
        if (nfc && this.cutNfcAfter !== undefined && bytes >= this.cutNfcAfter) {
          cut = true;
          break;
        }
      }
    } catch {
      // The client gave up mid-body (an upload it aborted): nothing to forward.
      cut = true;
    }
    // Held whole before forwarding: the test's disks are a few MiB.
    const body = Buffer.concat(chunks);
    const soapMethod = /<soapenv:Body><([A-Za-z_]+)[ >]/.exec(body.toString('utf8'))?.[1];
    const record = (status: number): void => {
      this.requests.push({ method: req.method!, path: req.url!, soapMethod, contentType: req.headers['content-type'], bytes, sha256: hash.digest('hex'), status });
    };
    if (cut) {
      record(0);
      socket.destroy();
      return;
    }
    try {
      const headers = Object.fromEntries(Object.entries(req.headers).filter(([k]) => !['host', 'connection', 'transfer-encoding', 'content-length'].includes(k))) as Record<string, string>;
      const answer = await request(`${this.target}${req.url!}`, { method: req.method as 'POST', headers, body, dispatcher: this.upstream });
      const text = await answer.body.arrayBuffer();
      record(answer.statusCode);
      const out = Object.fromEntries(Object.entries(answer.headers).filter(([k]) => !['connection', 'transfer-encoding', 'content-length', 'keep-alive'].includes(k)));
      res.writeHead(answer.statusCode, out);
      res.end(Buffer.from(text));
    } catch (err) {
      record(502);
      res.writeHead(502).end(String(err));
    }
  }

  /** The SOAP methods seen, in order. */
  get soapMethods(): string[] {
    return this.requests.map((r) => r.soapMethod).filter((m): m is string => m !== undefined);
  }

  /** Idempotent. */
  async stop(): Promise<void> {
    if (!this.server.listening) return;
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
    await this.upstream.close();
    this.dir.remove();
  }
}
