import { createServer, type Server } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { connect as tlsConnect, TLSSocket } from 'node:tls';
import { CertificateAuthority } from '../../saas-relay/tls/certificate-authority.js';

/**
 * An HTTP CONNECT proxy on loopback. In `intercept` mode it behaves like a TLS-inspecting
 * corporate proxy: it terminates TLS with a certificate of its own CA for the requested host and
 * opens its own TLS connection to the real server.
 */
export class ConnectProxy {
  readonly connects: string[] = [];
  /** CONNECT sockets leave the HTTP server's books; close() destroys them itself. */
  readonly sockets = new Set<Socket>();
  readonly caPem: string;
  private constructor(private readonly server: Server, readonly mode: 'tunnel' | 'intercept', caPem: string) {
    this.caPem = caPem;
  }

  static async start(mode: 'tunnel' | 'intercept'): Promise<ConnectProxy> {
    const now = Date.now();
    const ca = CertificateAuthority.generate('Corp Inspection CA', now);
    const authority = new CertificateAuthority(ca.keyPem, ca.certPem);
    const server = createServer((_req, res) => res.writeHead(405).end());
    const proxy = new ConnectProxy(server, mode, ca.certPem);
    server.on('connect', (req, client: Socket, head: Buffer) => {
      const target = req.url ?? '';
      proxy.connects.push(target);
      proxy.sockets.add(client);
      client.once('close', () => proxy.sockets.delete(client));
      const [host = '', port = '443'] = target.split(/:(?=\d+$)/);
      client.on('error', () => client.destroy());
      if (mode === 'tunnel') {
        const upstream = connect(Number(port), host, () => {
          client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
          upstream.write(head);
          upstream.pipe(client).pipe(upstream);
        });
        upstream.on('error', () => client.destroy());
        return;
      }
      const leaf = authority.issueServer([host], now, 86_400_000);
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      const inner = new TLSSocket(client, { isServer: true, key: leaf.keyPem, cert: leaf.certPem + ca.certPem });
      const upstream = tlsConnect({ host, port: Number(port), servername: host === '127.0.0.1' ? undefined : host, rejectUnauthorized: false });
      inner.on('error', () => upstream.destroy());
      upstream.on('error', () => inner.destroy());
      inner.pipe(upstream).pipe(inner);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return proxy;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    for (const socket of this.sockets) socket.destroy();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
